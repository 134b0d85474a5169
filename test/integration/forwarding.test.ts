import { RtpHeader, RtpPacket } from "werift";
import { describe, expect, it } from "vitest";
import { useSystem, useWeriftPeers } from "../support/hooks.ts";

/** A VP8 payload: a payload descriptor (start of partition) then bytes that identify the packet. */
function vp8Payload(i: number): Buffer {
  const body = Buffer.alloc(600, i & 0xff);
  body.writeUInt32BE(i, 0);
  return Buffer.concat([Buffer.from([0x10]), body]);
}
function opusPayload(i: number): Buffer {
  const body = Buffer.alloc(80, (i * 7) & 0xff);
  body.writeUInt32BE(i, 0);
  return body;
}

const system = useSystem();
const peers = useWeriftPeers(system);

describe("worker in workerd + media node + werift peers", () => {
  it("forwards a publisher's audio and video RTP intact to two subscribers", async () => {
    const room = `fwd-${Date.now()}`;
    const bob = await peers.join(room, "Bob");
    const carol = await peers.join(room, "Carol");
    const alice = await peers.join(room, "Alice");

    await alice.publish();
    await Promise.all([bob.subscriberConnected(), carol.subscriberConnected()]);
    for (const sub of [bob, carol]) {
      const fromAlice = [...sub.subscribed.values()].filter((t) => t.participantId === alice.participantId);
      expect(fromAlice.map((t) => t.kind).sort()).toEqual(["audio", "video"]);
      // Both in one stream (a=msid), Alice's: a browser plays the audio and video of one stream in sync.
      const sections = sub.subscriberPc.remoteDescription!.sdp.split(/\r\n(?=m=)/);
      for (const t of fromAlice) expect(sections.find((m) => m.includes(`\r\na=mid:${t.mid}\r\n`))).toContain(`\r\na=msid:${alice.participantId} `);
    }

    const count = 300;
    for (let i = 0; i < count; i++) {
      alice.video.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: (60000 + i) & 0xffff, timestamp: i * 3000, marker: true, ssrc: 1111 }), vp8Payload(i)));
      alice.audio.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: i, timestamp: i * 960, ssrc: 2222 }), opusPayload(i)));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 1000));

    for (const sub of [bob, carol]) {
      for (const [kind, payload] of [["video", vp8Payload], ["audio", opusPayload]] as const) {
        const got = sub.received.filter((r) => r.participantId === alice.participantId && r.kind === kind).map((r) => r.packet);
        // Loopback loses nothing; allow a packet or two for the first keyframe race at most.
        expect(got.length).toBeGreaterThanOrEqual(count - 2);
        const ids = got.map((p) => p.payload.readUInt32BE(kind === "video" ? 1 : 0));
        for (let k = 0; k < got.length; k++) {
          expect(got[k]!.payload.equals(payload(ids[k]!))).toBe(true);
          if (k > 0) {
            expect(ids[k]).toBe(ids[k - 1]! + 1);
            expect(got[k]!.header.sequenceNumber).toBe((got[k - 1]!.header.sequenceNumber + 1) & 0xffff);
          }
        }
      }
    }
    // The suite runs once on each send path (EGRESS=js forces the TypeScript one): the node must be
    // on the one asked for, and on the native one the packets above must have left through it.
    const health = await system.nodeHealth(0);
    const expected = process.env.EGRESS === "js" ? "js" : "native";
    expect(health.egress.path).toBe(expected);
    if (expected === "native") expect(health.egress.stats!.sent).toBeGreaterThanOrEqual(4 * (count - 2));
  });

  it("carries a stream across 16-bit sequence wraparound on both legs without losing packets", async () => {
    // More than 65,536 packets: the publisher's sequence numbers wrap, and so do the subscriber's,
    // whatever random start the node's rewriter picked; SRTP's rollover counter must follow on both.
    const room = `wrap-${Date.now()}`;
    const bob = await peers.join(room, "Bob");
    const alice = await peers.join(room, "Alice");
    await alice.publish();
    await bob.subscriberConnected();
    const count = 66_000;
    // Closed loop: at most one window in flight, so a stalled process on a busy 2-core machine fills no
    // socket buffer (an open-loop sender lost 16 of 66,000 to a full receive buffer in a CI run). What
    // this test is about, SRTP rollover on both legs, would lose every packet after the wrap.
    const window = 100;
    const seenFromAlice = new Set<number>();
    let scanned = 0;
    const seen = (): number => {
      for (; scanned < bob.received.length; scanned++) {
        const r = bob.received[scanned]!;
        if (r.participantId === alice.participantId && r.kind === "video") seenFromAlice.add(r.packet.payload.readUInt32BE(1));
      }
      return seenFromAlice.size;
    };
    for (let i = 0; i < count; i++) {
      const payload = Buffer.alloc(40);
      payload[0] = 0x10;
      payload.writeUInt32BE(i, 1);
      alice.video.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: (65_000 + i) & 0xffff, timestamp: i * 300, ssrc: 7 }), payload));
      if (i % window === window - 1) {
        const deadline = Date.now() + 2000;
        while (seen() < i + 1 - 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      }
    }
    const deadline = Date.now() + 2000;
    while (seen() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen()).toBeGreaterThanOrEqual(count - 2);
  }, 120_000);
});
