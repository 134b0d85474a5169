/**
 * How well one remote participant's media reaches this page, in three levels (as LiveKit and Meet
 * show it): from two getStats() samples about a second apart. Pure, so unit tests drive it.
 */
export type Quality = "good" | "fair" | "poor";

/** One participant's received media, summed over its audio and camera. */
export interface QualitySample {
  packetsReceived: number;
  packetsLost: number;
  /** Video freezes so far (Chromium's freezeCount). */
  freezeCount: number;
  rttMs: number | null;
}

/** Loss (of the packets sent meanwhile) or round trip at which a link is fair, and poor. */
export const FAIR = { loss: 0.02, rttMs: 200 };
export const POOR = { loss: 0.1, rttMs: 400 };

/**
 * The quality between two samples, or null when there is nothing to judge: no earlier sample, or
 * no media expected (everything muted) and none came. Media expected and none came is poor.
 */
export function rateQuality(prev: QualitySample | undefined, cur: QualitySample, expectingMedia: boolean): Quality | null {
  if (!prev) return null;
  const received = Math.max(0, cur.packetsReceived - prev.packetsReceived);
  const lost = Math.max(0, cur.packetsLost - prev.packetsLost);
  if (received === 0) return expectingMedia ? "poor" : null;
  const loss = lost / (received + lost);
  const rtt = cur.rttMs ?? 0;
  if (loss >= POOR.loss || rtt >= POOR.rttMs || cur.freezeCount > prev.freezeCount) return "poor";
  if (loss >= FAIR.loss || rtt >= FAIR.rttMs) return "fair";
  return "good";
}

interface Received {
  packetsReceived: number;
  packetsLost: number;
  rttMs: number | null;
}

/** Sums a participant's audio and camera stats into one sample. */
export function qualitySample(s: { audio?: Received; video?: Received & { freezeCount: number } }): QualitySample {
  const parts = [s.audio, s.video].filter((p): p is Received => p !== undefined);
  return {
    packetsReceived: parts.reduce((n, p) => n + p.packetsReceived, 0),
    packetsLost: parts.reduce((n, p) => n + p.packetsLost, 0),
    freezeCount: s.video?.freezeCount ?? 0,
    rttMs: parts.find((p) => p.rttMs !== null)?.rttMs ?? null,
  };
}
