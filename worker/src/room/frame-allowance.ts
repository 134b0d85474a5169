/**
 * What one socket may still send: a token bucket for its message rate and a count of its recent
 * bad frames. Pure (`now` comes in); the state is small and plain, so it lives in the socket's
 * attachment and survives hibernation.
 */
import { BAD_FRAME_WINDOW_MS, MAX_BAD_FRAMES, SIGNAL_BURST, SIGNAL_RATE_PER_S } from "@sfu/shared";

export interface FrameAllowance {
  /** Tokens left when last counted, at `at`; one message takes one. */
  tokens: number;
  at: number;
  /** Bad frames since `badSince` (the first of them in the current window). */
  badFrames: number;
  badSince: number;
}

export interface FrameLimits {
  ratePerS: number;
  burst: number;
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
  // A clock that steps back refills nothing rather than draining the bucket.
  const elapsedS = Math.max(0, now - a.at) / 1000;
  const tokens = Math.min(limits.burst, a.tokens + elapsedS * limits.ratePerS);
  const allowed = tokens >= 1;
  return { allowance: { ...a, tokens: allowed ? tokens - 1 : tokens, at: Math.max(a.at, now) }, allowed };
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
