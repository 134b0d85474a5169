/**
 * A token bucket, pure (`now` comes in) and plain (it fits a socket attachment): at most `burst`
 * tokens, refilled at `ratePerS`. Signaling frames, chat posts and app data bytes are metered with it.
 */
export interface BucketLimits {
  ratePerS: number;
  burst: number;
}

export interface Bucket {
  /** Tokens left when last counted, at `at`. */
  tokens: number;
  at: number;
}

export function fullBucket(now: number, limits: BucketLimits): Bucket {
  return { tokens: limits.burst, at: now };
}

/** Takes `cost` tokens if there are that many (`allowed`), else takes none. */
export function takeTokens(b: Bucket, cost: number, now: number, limits: BucketLimits): { bucket: Bucket; allowed: boolean } {
  // A clock that steps back refills nothing rather than draining the bucket.
  const elapsedS = Math.max(0, now - b.at) / 1000;
  const tokens = Math.min(limits.burst, b.tokens + elapsedS * limits.ratePerS);
  const allowed = tokens >= cost;
  return { bucket: { tokens: allowed ? tokens - cost : tokens, at: Math.max(b.at, now) }, allowed };
}
