import { describe, expect, it } from "vitest";
import { SequenceRewriter, seqDelta, type RtpPosition } from "../../media-node/src/forwarding/sequence-rewriter.ts";

const VIDEO = 90_000;
const AUDIO = 48_000;

function pkt(ssrc: number, sequenceNumber: number, timestamp: number): RtpPosition {
  return { ssrc, sequenceNumber: sequenceNumber & 0xffff, timestamp: timestamp >>> 0 };
}

describe("seqDelta", () => {
  it.each([
    [0, 0, 0],
    [0, 1, 1],
    [1, 0, -1],
    [100, 250, 150],
    [250, 100, -150],
    [65535, 0, 1],
    [0, 65535, -1],
    [65530, 5, 11],
    [5, 65530, -11],
    [0, 32767, 32767],
    [0, 32768, -32768],
    [40000, 7232, -32768],
  ])("seqDelta(%i, %i) = %i", (a, b, d) => {
    expect(seqDelta(a, b)).toBe(d);
  });

  it("is antisymmetric away from the half-way point", () => {
    for (const [a, b] of [[1, 2], [65000, 100], [12345, 54321], [0, 32767]] as const) {
      expect(seqDelta(a, b)).toBe(-seqDelta(b, a));
    }
  });
});

describe("SequenceRewriter", () => {
  it("maps a contiguous input to a contiguous output starting at firstSeq/firstTs", () => {
    const r = new SequenceRewriter(VIDEO, 1000, 500_000);
    const out = [];
    for (let i = 0; i < 50; i++) out.push(r.rewrite(pkt(1111, 20_000 + i, 7_000_000 + i * 3000), i * 33));
    expect(out.map((o) => o?.sequenceNumber)).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
    expect(out.map((o) => o?.timestamp)).toEqual(Array.from({ length: 50 }, (_, i) => 500_000 + i * 3000));
  });

  it("keeps the input's timestamp spacing even when input timestamps are irregular", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0);
    const tsIn = [10, 10, 3010, 9010, 9010, 12010];
    const out = tsIn.map((ts, i) => r.rewrite(pkt(1, 100 + i, ts), i));
    expect(out.map((o) => o?.timestamp)).toEqual([0, 0, 3000, 9000, 9000, 12000]);
  });

  it("follows input sequence wraparound at 65535", () => {
    const r = new SequenceRewriter(VIDEO, 100, 0);
    const seqs = [65533, 65534, 65535, 0, 1, 2];
    const out = seqs.map((s, i) => r.rewrite(pkt(1, s, i * 3000), i));
    expect(out.map((o) => o?.sequenceNumber)).toEqual([100, 101, 102, 103, 104, 105]);
  });

  it("wraps the output sequence number at 65535", () => {
    const r = new SequenceRewriter(VIDEO, 65534, 0);
    const out = [0, 1, 2, 3].map((i) => r.rewrite(pkt(1, 500 + i, i * 3000), i));
    expect(out.map((o) => o?.sequenceNumber)).toEqual([65534, 65535, 0, 1]);
  });

  it("wraps input and output together", () => {
    const r = new SequenceRewriter(VIDEO, 65535, 0);
    const out = [65534, 65535, 0, 1].map((s, i) => r.rewrite(pkt(1, s, i), i));
    expect(out.map((o) => o?.sequenceNumber)).toEqual([65535, 0, 1, 2]);
  });

  it("wraps the output timestamp at 2^32", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0xffff_ffff - 2999);
    const out = [0, 1, 2].map((i) => r.rewrite(pkt(1, i, 1_000 + i * 3000), i));
    expect(out.map((o) => o?.timestamp)).toEqual([0xffff_ffff - 2999, 0, 3000]);
  });

  it("follows input timestamp wraparound at 2^32", () => {
    const r = new SequenceRewriter(AUDIO, 0, 1_000);
    const out = [0, 1, 2].map((i) => r.rewrite(pkt(1, i, 0xffff_ffff - 959 + i * 960), i));
    expect(out.map((o) => o?.timestamp)).toEqual([1_000, 1_960, 2_920]);
  });

  it("continues the sequence at last+1 on a source switch and advances the timestamp by elapsed wall time", () => {
    const r = new SequenceRewriter(VIDEO, 10, 1_000_000);
    for (let i = 0; i < 5; i++) r.rewrite(pkt(0xaaaa, 3000 + i, 40_000 + i * 3000), 1000 + i * 33);
    // last forwarded: seq 14, ts 1_012_000, at t = 1132. New source 250 ms later.
    const switched = r.rewrite(pkt(0xbbbb, 61_000, 123_456_789), 1382);
    expect(switched).toEqual({ sequenceNumber: 15, timestamp: 1_012_000 + 250 * 90 });
    // and the new source continues contiguously from there
    const next = r.rewrite(pkt(0xbbbb, 61_001, 123_456_789 + 3000), 1415);
    expect(next).toEqual({ sequenceNumber: 16, timestamp: 1_012_000 + 250 * 90 + 3000 });
  });

  it("uses the audio clock rate for the elapsed-time timestamp jump", () => {
    const r = new SequenceRewriter(AUDIO, 0, 0);
    r.rewrite(pkt(1, 0, 0), 0);
    r.rewrite(pkt(1, 1, 960), 20);
    expect(r.rewrite(pkt(2, 9, 5), 1020)).toEqual({ sequenceNumber: 2, timestamp: 960 + 1000 * 48 });
  });

  it("advances the timestamp by at least 1 tick on a switch with no elapsed time", () => {
    const r = new SequenceRewriter(VIDEO, 0, 5000);
    r.rewrite(pkt(1, 0, 0), 100);
    expect(r.rewrite(pkt(2, 777, 42), 100)).toEqual({ sequenceNumber: 1, timestamp: 5001 });
  });

  it("measures elapsed time from the newest packet's arrival, not the last reordered one", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0);
    r.rewrite(pkt(1, 10, 0), 0);
    r.rewrite(pkt(1, 12, 6000), 100); // highest
    r.rewrite(pkt(1, 11, 3000), 150); // late, older
    expect(r.rewrite(pkt(2, 0, 0), 300)).toEqual({ sequenceNumber: 3, timestamp: 6000 + 200 * 90 });
  });

  it("continues across a switch when the output sequence is at 65535", () => {
    const r = new SequenceRewriter(VIDEO, 65534, 0);
    r.rewrite(pkt(1, 7, 0), 0);
    r.rewrite(pkt(1, 8, 3000), 33);
    expect(r.rewrite(pkt(2, 40_000, 0), 66)?.sequenceNumber).toBe(0);
  });

  it("keeps reordered packets in their relative order", () => {
    const r = new SequenceRewriter(VIDEO, 500, 0);
    const order = [0, 2, 1, 3, 5, 4, 6];
    const out = order.map((i) => r.rewrite(pkt(9, 100 + i, i * 3000), i)!);
    expect(out.map((o) => o.sequenceNumber)).toEqual(order.map((i) => 500 + i));
    expect(out.map((o) => o.timestamp)).toEqual(order.map((i) => i * 3000));
  });

  it("keeps relative order of packets reordered across the input wrap", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0);
    const seqs = [65534, 0, 65535, 1];
    const out = seqs.map((s, i) => r.rewrite(pkt(1, s, 0), i)!);
    expect(out.map((o) => o.sequenceNumber)).toEqual([0, 2, 1, 3]);
  });

  it("drops packets older than the switch point", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0);
    r.rewrite(pkt(1, 50, 0), 0);
    expect(r.rewrite(pkt(2, 1000, 0), 10)).toEqual({ sequenceNumber: 1, timestamp: 900 });
    expect(r.rewrite(pkt(2, 999, 0), 11)).toBeUndefined();
    expect(r.rewrite(pkt(2, 990, 0), 12)).toBeUndefined();
    expect(r.rewrite(pkt(2, 1001, 3000), 13)).toEqual({ sequenceNumber: 2, timestamp: 3900 });
  });

  it("drops packets from before the first packet of the very first source", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0);
    expect(r.rewrite(pkt(1, 0, 0), 0)).toEqual({ sequenceNumber: 0, timestamp: 0 });
    expect(r.rewrite(pkt(1, 65535, 0), 1)).toBeUndefined();
  });

  it("a dropped pre-switch packet does not disturb the following output", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0);
    r.rewrite(pkt(1, 5, 0), 0);
    r.rewrite(pkt(2, 300, 0), 0);
    r.rewrite(pkt(2, 299, 0), 1);
    expect(r.rewrite(pkt(2, 301, 0), 2)?.sequenceNumber).toBe(2);
  });

  it("keeps forwarding a long stream: more than 32768 packets after a switch are not dropped", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0);
    let dropped = 0;
    let gaps = 0;
    let prev: number | undefined;
    const total = 70_000;
    for (let i = 0; i < total; i++) {
      const out = r.rewrite(pkt(1, 1000 + i, i * 3000), i * 3);
      if (!out) {
        dropped++;
        continue;
      }
      if (prev !== undefined && out.sequenceNumber !== ((prev + 1) & 0xffff)) gaps++;
      prev = out.sequenceNumber;
    }
    expect(dropped).toBe(0);
    expect(gaps).toBe(0);
    expect(prev).toBe((total - 1) & 0xffff);
  });

  it("still drops a late packet from just before the switch after a long run of wraps", () => {
    const r = new SequenceRewriter(VIDEO, 0, 0);
    for (let i = 0; i < 140_000; i++) r.rewrite(pkt(1, i, i), i);
    // switch to a new source, then a late packet from before its switch point
    const first = r.rewrite(pkt(2, 20, 0), 200_000)!;
    expect(first.sequenceNumber).toBe(140_000 & 0xffff);
    expect(r.rewrite(pkt(2, 19, 0), 200_001)).toBeUndefined();
    expect(r.rewrite(pkt(2, 21, 0), 200_002)?.sequenceNumber).toBe((140_000 + 1) & 0xffff);
  });
});
