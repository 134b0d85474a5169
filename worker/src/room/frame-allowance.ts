/**
 * What one socket may still send: a token bucket for its message rate and a count of its recent
 * bad frames. Pure (`now` comes in); the state is small and plain, so it lives in the socket's
 * attachment and survives hibernation.
 */
import { BAD_FRAME_WINDOW_MS, MAX_BAD_FRAMES, SIGNAL_BURST, SIGNAL_RATE_PER_S, takeTokens, type Bucket, type BucketLimits } from "@sfu/shared";

/** A token bucket (one message takes one token) and the bad-frame count. */
export interface FrameAllowance extends Bucket {
  /** Bad frames since `badSince` (the first of them in the current window). */
  badFrames: number;
  badSince: number;
}

export interface FrameLimits extends BucketLimits {
  maxBadFrames: number;
  badFrameWindowMs: number;
}

export const FRAME_LIMITS: FrameLimits = {
  ratePerS: SIGNAL_RATE_PER_S,
  burst: SIGNAL_BURST,
  maxBadFrames: MAX_BAD_FRAMES,
  badFrameWindowMs: BAD_FRAME_WINDOW_MS,
};

/** A new socket's allowance: a full bucket, no bad frames. */
export function freshAllowance(now: number, limits: FrameLimits = FRAME_LIMITS): FrameAllowance {
  return { tokens: limits.burst, at: now, badFrames: 0, badSince: now };
}

/** One message arrived: it takes a token if there is one (`allowed`), else it is over the rate. */
export function takeToken(a: FrameAllowance, now: number, limits: FrameLimits = FRAME_LIMITS): { allowance: FrameAllowance; allowed: boolean } {
  const { bucket, allowed } = takeTokens(a, 1, now, limits);
  return { allowance: { ...a, ...bucket }, allowed };
}

/** A bad frame arrived: `abusive` once the window holds `maxBadFrames` of them. */
export function countBadFrame(a: FrameAllowance, now: number, limits: FrameLimits = FRAME_LIMITS): { allowance: FrameAllowance; abusive: boolean } {
  const windowOpen = a.badFrames > 0 && now - a.badSince < limits.badFrameWindowMs;
  const badFrames = windowOpen ? a.badFrames + 1 : 1;
  const allowance = { ...a, badFrames, badSince: windowOpen ? a.badSince : now };
  return { allowance, abusive: badFrames >= limits.maxBadFrames };
}

/** Once abusive, a socket stays so: the room ignores what else it sends while it closes it. */
export function isAbusive(a: FrameAllowance | undefined, limits: FrameLimits = FRAME_LIMITS): boolean {
  return (a?.badFrames ?? 0) >= limits.maxBadFrames;
}
