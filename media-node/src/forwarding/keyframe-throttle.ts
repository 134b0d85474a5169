/**
 * Keyframe requests (PLI) from many subscribers collapse into at most one request to the publisher
 * per interval: a keyframe serves every subscriber of the track, and a PLI storm would make the
 * publisher send keyframes back to back. A request suppressed inside the window is remembered and
 * reported by `due()` once the window ends, so a late joiner is never left waiting for the
 * browser's own retry.
 */
export class KeyframeThrottle {
  private lastSent = Number.NEGATIVE_INFINITY;
  private pending = false;

  constructor(private readonly minIntervalMs: number) {}

  /** A subscriber asks for a keyframe; true if the request should go to the publisher now. */
  request(now: number): boolean {
    if (now - this.lastSent >= this.minIntervalMs) {
      this.lastSent = now;
      this.pending = false;
      return true;
    }
    this.pending = true;
    return false;
  }

  /** True once if a suppressed request is now allowed through. */
  due(now: number): boolean {
    if (!this.pending || now - this.lastSent < this.minIntervalMs) return false;
    this.lastSent = now;
    this.pending = false;
    return true;
  }

  /** Milliseconds until a pending request becomes due, or undefined if none is pending. */
  nextDueIn(now: number): number | undefined {
    return this.pending ? Math.max(0, this.lastSent + this.minIntervalMs - now) : undefined;
  }
}
