import { randomBytes } from "node:crypto";
import { RtpPacket, TransportWideCC, RtcpTransportLayerFeedback, RtcpPacketConverter } from "werift";
import { describe, expect, it } from "vitest";
import { RtpHistory } from "../../media-node/src/egress/rtp-history.ts";
import { RolloverTracker, SrtpProtector, SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 } from "../../media-node/src/egress/srtp-protector.ts";
import { twccPacketResults } from "../../media-node/src/egress/twcc-feedback.ts";
import { srtpKeyPair } from "../support/srtp-keys.ts";

/** Our protector with fresh session keys, and werift's session that must open what it protects. */
function sessions(profile: number) {
  const { keys, receiver } = srtpKeyPair(profile);
  return { protector: new SrtpProtector(keys), receiver };
}

function protect(protector: SrtpProtector, seq: number, roc: number, payload: Buffer, withExtension: boolean): Buffer {
  const headerLength = withExtension ? 20 : 12;
  const out = Buffer.alloc(headerLength + payload.length + protector.tagLength);
  out[0] = withExtension ? 0x90 : 0x80;
  out[1] = 0x80 | 96;
  out.writeUInt16BE(seq, 2);
  out.writeUInt32BE(123456, 4);
  out.writeUInt32BE(0xdeadbeef, 8);
  if (withExtension) out.set([0xbe, 0xde, 0, 1, (3 << 4) | 1, 0x12, 0x34, 0], 12);
  const length = protector.protect(out, headerLength, payload, 0xdeadbeef, roc, seq);
  expect(length).toBe(out.length);
  return out;
}

describe("SrtpProtector", () => {
  for (const [name, profile] of [["AEAD_AES_128_GCM", SRTP_AEAD_AES_128_GCM], ["AES128_CM_HMAC_SHA1_80", SRTP_AES128_CM_HMAC_SHA1_80]] as const) {
    it(`produces ${name} packets that werift's SRTP opens, header extensions and all, across a rollover`, () => {
      const { protector, receiver } = sessions(profile);
      const rollover = new RolloverTracker();
      // 65530 → 65535 → 0 → 5: the receiver must follow the rollover counter to authenticate.
      for (let i = 0; i < 12; i++) {
        const seq = (65530 + i) & 0xffff;
        const payload = randomBytes(200 + i);
        const packet = RtpPacket.deSerialize(receiver.decrypt(protect(protector, seq, rollover.next(seq), payload, i % 2 === 0)));
        expect(packet.header.sequenceNumber).toBe(seq);
        expect(packet.header.ssrc).toBe(0xdeadbeef);
        expect(packet.header.marker).toBe(true);
        expect(packet.payload.equals(payload)).toBe(true);
        if (i % 2 === 0) expect(packet.header.extensions).toEqual([{ id: 3, payload: Buffer.from([0x12, 0x34]) }]);
      }
    });
  }

  it("fails authentication at the receiver when a byte is flipped", () => {
    const { protector, receiver } = sessions(SRTP_AEAD_AES_128_GCM);
    const packet = protect(protector, 1, 0, randomBytes(100), false);
    packet[30] = packet[30]! ^ 1;
    expect(() => receiver.decrypt(packet)).toThrow();
  });

  it("refuses a profile it does not implement", () => {
    expect(() => new SrtpProtector({ profile: 2, sessionKey: Buffer.alloc(16), sessionSalt: Buffer.alloc(14) })).toThrow(/unsupported/);
  });
});

describe("RolloverTracker", () => {
  it("counts wraps forward and keeps the old counter for a late packet from before a wrap", () => {
    const r = new RolloverTracker();
    expect(r.next(65534)).toBe(0);
    expect(r.next(65535)).toBe(0);
    expect(r.next(1)).toBe(1);
    expect(r.next(65533)).toBe(0); // a retransmission of a packet sent before the wrap
    expect(r.next(2)).toBe(1);
    for (let s = 3; s < 65536; s += 1000) r.next(s);
    expect(r.next(65535)).toBe(1);
    expect(r.next(0)).toBe(2);
  });
});

describe("RtpHistory", () => {
  it("gives back a stored packet for a NACK, once per resend interval, and forgets old or overwritten ones", () => {
    const h = new RtpHistory(8, 1000, 20);
    const p = Buffer.from("x");
    h.store(100, p, 9000, true, 0);
    expect(h.takeForResend(100, 5)).toEqual({ payload: p, timestamp: 9000, marker: true });
    expect(h.takeForResend(100, 10)).toBeUndefined(); // just resent
    expect(h.takeForResend(100, 40)).toBeDefined();
    expect(h.takeForResend(101, 40)).toBeUndefined(); // never sent
    expect(h.takeForResend(100, 2000)).toBeUndefined(); // too old
    h.store(108, Buffer.from("y"), 1, false, 2000); // same ring slot as 100
    expect(h.takeForResend(100, 2000)).toBeUndefined();
    expect(h.takeForResend(108, 2000)?.payload.toString()).toBe("y");
  });

  it("grows (up to its size) instead of overwriting a packet still young enough to resend", () => {
    const h = new RtpHistory(512, 1500, 20);
    expect(h.size).toBeLessThan(512);
    // 300 packets in one second (1.5 Mbps video): all of them stay resendable.
    for (let s = 0; s < 300; s++) h.store((65400 + s) & 0xffff, Buffer.from([s & 0xff]), s, false, s * 3);
    expect(h.size).toBe(512);
    for (let s = 0; s < 300; s += 37) expect(h.takeForResend((65400 + s) & 0xffff, 1000)?.payload[0]).toBe(s & 0xff);
    // Audio's 50 packets a second fit a small ring: older ones are overwritten, not kept.
    const audio = new RtpHistory(512, 1500, 20);
    for (let s = 0; s < 1000; s++) audio.store(s, Buffer.from("a"), s, false, s * 20);
    expect(audio.size).toBe(128);
    expect(audio.takeForResend(999 - 70, 999 * 20)).toBeDefined();
    // Never past its size: the oldest goes even while still young.
    const small = new RtpHistory(8, 1000, 20);
    for (let s = 0; s < 20; s++) small.store(s, Buffer.from("x"), s, false, s);
    expect(small.takeForResend(19, 20)).toBeDefined();
    expect(small.takeForResend(11, 20)).toBeUndefined();
  });
});

/** Builds a transport-cc feedback the way Chrome lays it out and lets werift parse it, as it does on the wire. */
function feedback(base: number, chunks: number[], count: number, deltas: Array<number | { large: number }>): TransportWideCC {
  const body = Buffer.alloc(16 + chunks.length * 2 + deltas.length * 2 + 4);
  body.writeUInt32BE(1, 0); // sender ssrc
  body.writeUInt32BE(2, 4); // media ssrc
  body.writeUInt16BE(base, 8);
  body.writeUInt16BE(count, 10);
  body.writeUIntBE(1000, 12, 3); // reference time, ×64 ms
  body[15] = 7;
  let o = 16;
  for (const c of chunks) o = body.writeUInt16BE(c, o);
  for (const d of deltas) o = typeof d === "number" ? body.writeUInt8(d, o) : body.writeInt16BE(d.large, o);
  const padded = body.subarray(0, Math.ceil(o / 4) * 4);
  const header = Buffer.from([0x80 | 15, 205, 0, padded.length / 4]);
  const [packet] = RtcpPacketConverter.deSerialize(Buffer.concat([header, padded]));
  return (packet as RtcpTransportLayerFeedback).feedback as TransportWideCC;
}

describe("twccPacketResults", () => {
  it("expands run-length and status-vector chunks into per-packet arrival times", () => {
    // Run of 3 received (small delta), then a 2-bit vector: lost, received large delta, received small.
    const runOf3Small = (0 << 15) | (1 << 13) | 3;
    const vector = (1 << 15) | (1 << 14) | (0 << 12) | (2 << 10) | (1 << 8);
    // Deltas in 250 µs units: three small, then a large (negative: reordered) and a small.
    const fb = feedback(65534, [runOf3Small, vector], 6, [4, 8, 0, { large: -4 }, 12]);
    const results = twccPacketResults(fb)!;
    expect(results.map((r) => r.transportSeq)).toEqual([65534, 65535, 0, 1, 2, 3]);
    expect(results.map((r) => r.received)).toEqual([true, true, true, false, true, true]);
    expect(results.map((r) => r.arrivalMs - 64_000)).toEqual([1, 3, 3, NaN, 2, 5]);
  });

  it("reads 1-bit status vectors, and refuses a message whose deltas or chunks run past its end", () => {
    // A 1-bit vector of 14: received, lost, received, then lost to the end; the count stops at 5.
    const vector = (1 << 15) | (0 << 14) | (1 << 13) | (0 << 12) | (1 << 11);
    const results = twccPacketResults(feedback(100, [vector], 5, [4, 8]))!;
    expect(results.map((r) => r.received)).toEqual([true, false, true, false, false]);
    expect(results[2]!.arrivalMs - results[0]!.arrivalMs).toBe(2);
    const runOf4Small = (1 << 13) | 4;
    expect(twccPacketResults(feedback(10, [runOf4Small], 4, [1, 2]))).toBeUndefined(); // two deltas short
    expect(twccPacketResults(feedback(10, [runOf4Small], 40, []))).toBeUndefined(); // chunks cover 4 of 40
  });

  it("turns receive deltas into arrival times", () => {
    const runOf4Small = (1 << 13) | 4;
    const fb = feedback(10, [runOf4Small], 4, [0, 4, 4, 8]);
    const arrivals = twccPacketResults(fb)!.map((r) => r.arrivalMs);
    expect(arrivals[0]).toBe(64_000);
    expect(arrivals.slice(1).map((a, i) => a - arrivals[i]!)).toEqual([1, 1, 2]);
  });
});

describe("LinkImpairment", () => {
  it("polices to the given rate after a 250 ms burst, and drops the given share at random", async () => {
    const { LinkImpairment } = await import("../../media-node/src/egress/impairment.ts");
    const link = new LinkImpairment(800); // 100 bytes per ms, 25 kB of burst
    let passed = 0;
    for (let t = 0; t < 1000; t++) if (!link.drop(1000, t)) passed++; // offered: 8 Mbps for 1 s
    expect(passed * 1000 * 8).toBeGreaterThan(0.8e6 * 0.95);
    expect(passed * 1000 * 8).toBeLessThan(0.8e6 * 1.05 + 25_000 * 8); // the rate, plus one burst
    let n = 0;
    const lossy = new LinkImpairment(undefined, 10, () => (n++ % 10) / 10);
    let dropped = 0;
    for (let i = 0; i < 1000; i++) if (lossy.drop(1000, i)) dropped++;
    expect(dropped).toBe(100);
  });
});
