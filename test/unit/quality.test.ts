import { describe, expect, it } from "vitest";
import { qualitySample, rateQuality, type QualitySample } from "../../worker/app/quality.ts";

const at = (packetsReceived: number, packetsLost = 0, extra: Partial<QualitySample> = {}): QualitySample => ({ packetsReceived, packetsLost, freezeCount: 0, rttMs: 20, ...extra });

describe("network quality of a remote participant", () => {
  it("is good with no loss and a short round trip", () => {
    expect(rateQuality(at(1000), at(1100), true)).toBe("good");
  });

  it("is fair from 2 % loss or a 200 ms round trip, poor from 10 % or 400 ms", () => {
    expect(rateQuality(at(1000), at(1098, 2), true)).toBe("fair");
    expect(rateQuality(at(1000), at(1097, 1), true)).toBe("good");
    expect(rateQuality(at(1000), at(1090, 10), true)).toBe("poor");
    expect(rateQuality(at(1000), at(1100, 0, { rttMs: 250 }), true)).toBe("fair");
    expect(rateQuality(at(1000), at(1100, 0, { rttMs: 450 }), true)).toBe("poor");
  });

  it("judges the packets since the last sample, not since the call began", () => {
    // 300 lost long ago; none now.
    expect(rateQuality(at(1000, 300), at(1100, 300), true)).toBe("good");
  });

  it("is poor when video froze meanwhile", () => {
    expect(rateQuality(at(1000, 0, { freezeCount: 1 }), at(1100, 0, { freezeCount: 2 }), true)).toBe("poor");
  });

  it("is poor when media is expected and none came, and no verdict when everything is muted or on the first sample", () => {
    expect(rateQuality(at(1000), at(1000), true)).toBe("poor");
    expect(rateQuality(at(1000), at(1000), false)).toBeNull();
    expect(rateQuality(undefined, at(1000), true)).toBeNull();
  });

  it("sums audio and camera into one sample", () => {
    const sample = qualitySample({
      audio: { packetsReceived: 50, packetsLost: 1, rttMs: null },
      video: { packetsReceived: 200, packetsLost: 3, rttMs: 30, freezeCount: 2 },
    });
    expect(sample).toEqual({ packetsReceived: 250, packetsLost: 4, freezeCount: 2, rttMs: 30 });
  });
});
