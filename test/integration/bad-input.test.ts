import { createSocket } from "node:dgram";
import { RtpHeader, RtpPacket } from "werift";
import { describe, expect, it } from "vitest";
import { useSystem, useWeriftPeers } from "../support/hooks.ts";

// Bad requests from the edge are node-link.test.ts's; this file throws garbage at the media ports.
const system = useSystem();
const peers = useWeriftPeers(system);

const nodeAlive = async () => (await system.nodeHealth(0)).status === 200;

describe("garbage on the media ports", () => {
  it("is dropped without disturbing a live call", async () => {
    const room = `garbage-${Date.now()}`;
    const bob = await peers.join(room, "Bob");
    const alice = await peers.join(room, "Alice");
    await alice.publish();
    await bob.subscriberConnected();

    const send = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        alice.video.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: i * 3000, ssrc: 1 }), Buffer.from([0x10, i & 0xff, 1, 2, 3])));
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 500));
    };
    const received = () => bob.received.filter((r) => r.kind === "video").length;
    await send(0, 100);
    expect(received()).toBeGreaterThanOrEqual(98);

    // The node's media ports, from the candidates in the SDP it gave each peer.
    const ports = new Set<number>();
    for (const sdp of [alice.publisherPc.remoteDescription!.sdp, bob.subscriberPc.remoteDescription!.sdp]) {
      for (const m of sdp.matchAll(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/g)) ports.add(Number(m[1]));
    }
    expect(ports.size).toBeGreaterThan(0);
    const sock = createSocket("udp4");
    const shapes = [
      () => Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, ...Array(40).fill(7)]), // RTP-looking, not SRTP
      () => Buffer.from([0x80, 0xc8, 0, 6, 0, 0, 0, 1, ...Array(20).fill(0)]), // RTCP-looking
      () => Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, ...Array(12).fill(1)]), // STUN header, bad body
      () => Buffer.from([0x16, 0xfe, 0xfd, ...Array(30).fill(9)]), // DTLS-looking
      () => Buffer.alloc(0),
      () => Buffer.from(Array.from({ length: 1200 }, () => Math.floor(Math.random() * 256))),
      // First byte in STUN's range (RFC 7983) but not STUN: werift passed these to DTLS when they failed to parse.
      () => Buffer.from(Array.from({ length: 300 }, (_, k) => (k === 0 ? k % 4 : Math.floor(Math.random() * 256)))),
    ];
    // Several rounds: before strangers' datagrams were filtered, about one round in three stopped forwarding.
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 600; i++) {
        for (const port of ports) sock.send(shapes[i % shapes.length]!(), port, "127.0.0.1");
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      const mark = received();
      await send(1000 * round, 100);
      expect(await nodeAlive()).toBe(true);
      expect(received() - mark, `round ${round}`).toBeGreaterThanOrEqual(98);
    }
    sock.close();
  });
});
