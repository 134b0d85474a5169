import { ReceiverEstimatedMaxBitrate } from "werift";
import { describe, expect, it } from "vitest";
import { PublisherBitrate, rembBitrateFields } from "../../media-node/src/forwarding/publisher-bitrate.ts";

/** Feeds one second of a 1 Mbps stream (100 packets of 1250 bytes), skipping every `lossEvery`-th. */
function second(b: PublisherBitrate, start: number, seq0: number, lossEvery = 0): number {
  for (let i = 0; i < 100; i++) if (!lossEvery || i % lossEvery !== 0) b.observe(1, (seq0 + i) & 0xffff, 1250, start + i * 10);
  return b.tick(start + 1000);
}

describe("PublisherBitrate", () => {
  it("asks for the maximum while the uplink is clean", () => {
    const b = new PublisherBitrate(2_500_000);
    expect(second(b, 0, 0)).toBe(2_500_000);
    expect(second(b, 1000, 100)).toBe(2_500_000);
  });

  it("drops to 85 % of what arrives under heavy loss, holds under moderate loss, and climbs back 8 %/s when clean", () => {
    const b = new PublisherBitrate(2_500_000);
    const lossy = second(b, 0, 0, 5); // 20 % lost: 80 packets of 1250 B arrive in 1 s = 800 kbps
    expect(lossy).toBeGreaterThan(0.84 * 800_000);
    expect(lossy).toBeLessThan(0.87 * 800_000);
    expect(second(b, 1000, 100, 25)).toBe(lossy); // 4 %: hold
    const next = second(b, 2000, 200);
    expect(next).toBeGreaterThan(lossy * 1.07);
    expect(next).toBeLessThan(lossy * 1.09);
  });

  it("counts loss across a sequence wrap and ignores reordering", () => {
    const b = new PublisherBitrate(2_000_000);
    for (let i = 0; i < 100; i++) b.observe(7, (65500 + i) & 0xffff, 1000, i * 10);
    b.observe(7, 65499, 1000, 999); // late
    expect(b.tick(1000)).toBe(2_000_000);
  });
});

describe("rembBitrateFields", () => {
  it("round-trips through werift's REMB parser", () => {
    for (const bps of [64_000, 1_500_000, 2_500_000, 30_000_000]) {
      const remb = new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, ssrcNum: 1, ssrcFeedbacks: [5], ...rembBitrateFields(bps) });
      const parsed = ReceiverEstimatedMaxBitrate.deSerialize(remb.serialize());
      expect(Number(parsed.bitrate)).toBeLessThanOrEqual(bps);
      expect(Number(parsed.bitrate)).toBeGreaterThan(bps * 0.999);
    }
  });
});
