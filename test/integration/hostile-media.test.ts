import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { classes, Message, methods, RtpHeader, RtpPacket, type RTCPeerConnection } from "werift";
import { describe, expect, it } from "vitest";
import { useSystem, useWeriftPeers } from "../support/hooks.ts";
import { ALERT, CLOSE_NOTIFY, dtlsRecord, plaintextCloseNotify, sealedRecord } from "../support/dtls-records.ts";
import type { WeriftPeer } from "../support/werift-peer.ts";

// The attacks of issue 11 on the media ports, replayed against the real system while a call is live.
// Each of them used to stop forwarding to the peer (0 of 100 packets) with nobody told.
const system = useSystem();
const peers = useWeriftPeers(system);

const HANDSHAKE = 22;
const HEARTBEAT = 24;
const UNKNOWN_CONTENT_TYPE = 30;
const BATCH = 200;

interface Call {
  alice: WeriftPeer;
  bob: WeriftPeer;
  /** Sends a batch of video from alice; resolves to how many of its packets bob received. */
  batch(): Promise<number>;
  /** Sends single packets from alice until one reaches bob (false if none did within 15 s). */
  flowing(): Promise<boolean>;
}

/** Alice publishes, Bob subscribes, and a first batch gets through. */
async function liveCall(name: string): Promise<Call> {
  const room = `${name}-${Date.now()}`;
  const bob = await peers.join(room, "Bob");
  const alice = await peers.join(room, "Alice");
  await alice.publish();
  await bob.subscriberConnected();
  let sent = 0;
  const writeVideo = () => {
    const payload = Buffer.alloc(40);
    payload[0] = 0x10;
    payload.writeUInt32BE(sent, 1);
    alice.video.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: sent & 0xffff, timestamp: sent * 3000, ssrc: 7 }), payload));
    sent++;
  };
  const fromAlice = (from: number) => bob.received.some((r) => r.kind === "video" && r.participantId === alice.participantId && r.packet.payload.readUInt32BE(1) >= from);
  const flowing = async (): Promise<boolean> => {
    const from = sent;
    const deadline = Date.now() + 15_000;
    while (!fromAlice(from) && Date.now() < deadline) {
      writeVideo();
      await new Promise((r) => setTimeout(r, 50));
    }
    return fromAlice(from);
  };
  const batch = async (): Promise<number> => {
    const first = sent;
    const got = new Set<number>();
    let scanned = 0;
    const seen = () => {
      for (; scanned < bob.received.length; scanned++) {
        const r = bob.received[scanned]!;
        const id = r.kind === "video" && r.participantId === alice.participantId ? r.packet.payload.readUInt32BE(1) : -1;
        if (id >= first) got.add(id);
      }
      return got.size;
    };
    // Closed loop, as in forwarding.test.ts: at most one window in flight, so a busy 2-core machine
    // overflows no socket buffer; a window that does not arrive at all ends the batch (the call is dead).
    const window = 20;
    for (let i = 0; i < BATCH; i++) {
      writeVideo();
      if (i % window !== window - 1) continue;
      const deadline = Date.now() + 2000;
      while (seen() < i + 1 - 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      if (seen() <= i + 1 - window) break;
    }
    const deadline = Date.now() + 2000;
    while (seen() < BATCH && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return seen();
  };
  const warmUp = await batch();
  expect(warmUp, "packets of the first batch, before any attack").toBeGreaterThanOrEqual(BATCH - 2);
  return { alice, bob, batch, flowing };
}

/** The node's UDP ports in this call and the ICE ufrag it gave each, from the SDP it sent the peers. */
function nodePorts(call: Call): Array<{ port: number; ufrag: string }> {
  const found: Array<{ port: number; ufrag: string }> = [];
  for (const sdp of [call.alice.publisherPc.remoteDescription!.sdp, call.bob.subscriberPc.remoteDescription!.sdp]) {
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)![1]!;
    for (const m of sdp.matchAll(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/g)) found.push({ port: Number(m[1]), ufrag });
  }
  expect(found.length).toBeGreaterThan(0);
  return found;
}

/** A binding request naming `ufrag` whose MESSAGE-INTEGRITY is made with a password the stranger guessed. */
function uncheckedBindingRequest(ufrag: string): Buffer {
  const m = new Message(methods.BINDING, classes.REQUEST);
  m.setAttribute("USERNAME", `${ufrag}:stranger`).setAttribute("PRIORITY", 1853824767).setAttribute("ICE-CONTROLLING", BigInt(7));
  m.addMessageIntegrity(Buffer.from("not-the-node-password!", "utf8"));
  m.addFingerprint();
  return Buffer.from(m.bytes);
}

/** `total` random bytes in datagrams of at most `size`, first bytes walking through every demultiplexing range (RFC 7983). */
function randomDatagrams(total: number, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < total; at += size) {
    const d = randomBytes(Math.min(size, total - at));
    d[0] = (out.length * 37) & 0xff;
    out.push(d);
  }
  return out;
}

async function sendAll(sock: Socket, datagrams: Buffer[], port: number): Promise<void> {
  for (const [i, d] of datagrams.entries()) {
    await new Promise<void>((resolve, reject) => sock.send(d, port, "127.0.0.1", (err) => (err ? reject(err) : resolve())));
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 1));
  }
}

/** Sends from a peer's own ICE socket to the node, over the selected pair: what a spoofer of its address sends. */
async function fromPeerAddress(pc: RTCPeerConnection, datagrams: Buffer[]): Promise<void> {
  const connection = pc.iceTransports[0]!.connection;
  for (const d of datagrams) await connection.send(d);
}

const mediaFailed = (peer: WeriftPeer) => peer.client.received.filter((m) => m.type === "error" && m.code === "media-failed").length;

/** The call keeps flowing and nobody was told to start over. */
async function expectCallUnharmed(call: Call, attack: string): Promise<void> {
  const got = await call.batch();
  console.log(`[hostile-media] after ${attack}: bob received ${got} of ${BATCH}`);
  expect(got, `packets bob received after ${attack}`).toBeGreaterThanOrEqual(BATCH - 2);
  expect([mediaFailed(call.alice), mediaFailed(call.bob)], `media-failed sent to [alice, bob] after ${attack}`).toEqual([0, 0]);
  expect((await system.nodeHealth(0)).status).toBe(200);
}

describe("hostile datagrams on the media ports during a live call", () => {
  it("a stranger's unauthenticated STUN check followed by a DTLS alert, an unknown record type and 60 KB of random bytes is ignored", async () => {
    const call = await liveCall("stranger");
    const sock = createSocket("udp4");
    try {
      for (const { port, ufrag } of nodePorts(call)) {
        await sendAll(sock, [uncheckedBindingRequest(ufrag), plaintextCloseNotify()], port);
      }
      await expectCallUnharmed(call, "a STUN check and a plaintext alert");

      for (const { port, ufrag } of nodePorts(call)) {
        await sendAll(sock, [uncheckedBindingRequest(ufrag), dtlsRecord(UNKNOWN_CONTENT_TYPE, 0, 2, randomBytes(40)), dtlsRecord(UNKNOWN_CONTENT_TYPE, 1, 3, randomBytes(40))], port);
      }
      await expectCallUnharmed(call, "a STUN check and records of an unknown content type");

      for (const { port, ufrag } of nodePorts(call)) {
        await sendAll(sock, [uncheckedBindingRequest(ufrag), randomBytes(60_000), ...randomDatagrams(60_000, 1200)], port);
      }
      await expectCallUnharmed(call, "a STUN check and 60 KB of random bytes (one datagram and 50 of 1200 B)");
    } finally {
      sock.close();
    }
  });

  it("a blind sweep of 1,000 ports around the media ports (STUN, DTLS alert, random bytes on each) is ignored", async () => {
    const call = await liveCall("sweep");
    const ports = nodePorts(call).map((p) => p.port);
    const from = Math.max(1024, Math.min(...ports) - 500);
    const sock = createSocket("udp4");
    try {
      for (let port = from; port < from + 1000; port++) {
        await sendAll(sock, [uncheckedBindingRequest(randomBytes(4).toString("hex")), plaintextCloseNotify(), randomBytes(1200)], port);
      }
    } finally {
      sock.close();
    }
    await expectCallUnharmed(call, `a sweep of ports ${from}..${from + 999}`);
  });

  it("a plaintext close_notify from the peers' own addresses (a spoofer's) is dropped on both legs", async () => {
    const call = await liveCall("spoofed-close");
    await fromPeerAddress(call.bob.subscriberPc, [plaintextCloseNotify(1000)]);
    await fromPeerAddress(call.alice.publisherPc, [plaintextCloseNotify(1000)]);
    await expectCallUnharmed(call, "a plaintext close_notify from each peer's address");
  });

  it("other forged records from the peers' own addresses are dropped: forged epoch-1 alert, heartbeat, unknown type, plaintext ClientHello, random bytes", async () => {
    const call = await liveCall("spoofed-records");
    const forged = [
      dtlsRecord(ALERT, 1, 5000, [...CLOSE_NOTIFY, ...randomBytes(24)]),
      dtlsRecord(HEARTBEAT, 1, 5001, randomBytes(40)),
      dtlsRecord(UNKNOWN_CONTENT_TYPE, 1, 5002, randomBytes(40)),
      dtlsRecord(HANDSHAKE, 0, 5003, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
      ...randomDatagrams(12_000, 1200),
    ];
    await fromPeerAddress(call.bob.subscriberPc, forged);
    await fromPeerAddress(call.alice.publisherPc, forged);
    await expectCallUnharmed(call, "forged records from each peer's address");
  });
});

describe("a DTLS session the peer really closes", () => {
  it("is reported at once: the peer is told media-failed, starts its media over, and receives again", async () => {
    const call = await liveCall("real-close");
    const session = call.bob.subscriberPc.dtlsTransports[0]!.dtls!;
    await fromPeerAddress(call.bob.subscriberPc, [sealedRecord(session, ALERT, CLOSE_NOTIFY)]);
    const failed = await call.bob.client.next("error", (m) => m.code === "media-failed", 10_000).catch(() => undefined);
    expect(failed, "media-failed for bob after its authenticated close_notify").toBeDefined();
    expect(mediaFailed(call.alice), "alice's media is not affected").toBe(0);

    // Recovery, not silence: bob answers the room's fresh offer on a new PeerConnection.
    expect(call.bob.mediaRestarts).toBe(1);
    await call.bob.subscriberConnected();
    expect(await call.flowing(), "alice's video reaches bob again").toBe(true);
    const got = await call.batch();
    console.log(`[hostile-media] after bob's real close_notify and restart: bob received ${got} of ${BATCH}`);
    expect(got, "packets bob received on its new subscriber PeerConnection").toBeGreaterThanOrEqual(BATCH - 2);
  });

  it("a fatal alert (which werift ignores) is reported too: the publisher is told media-failed, publishes again, and bob receives again", async () => {
    const call = await liveCall("fatal-alert");
    const session = call.alice.publisherPc.dtlsTransports[0]!.dtls!;
    const HANDSHAKE_FAILURE = 40;
    await fromPeerAddress(call.alice.publisherPc, [sealedRecord(session, ALERT, [2, HANDSHAKE_FAILURE])]);
    const failed = await call.alice.client.next("error", (m) => m.code === "media-failed", 10_000).catch(() => undefined);
    expect(failed, "media-failed for alice after its authenticated fatal alert").toBeDefined();
    expect(mediaFailed(call.bob), "bob's media is not affected").toBe(0);

    expect(call.alice.mediaRestarts).toBe(1);
    expect(await call.flowing(), "alice's republished video reaches bob").toBe(true);
    const got = await call.batch();
    console.log(`[hostile-media] after alice's fatal alert and republish: bob received ${got} of ${BATCH}`);
    expect(got, "packets bob received from alice's republished track").toBeGreaterThanOrEqual(BATCH - 2);
  });
});
