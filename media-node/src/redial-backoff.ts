const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5000;
/** A connection that stayed up this long after the welcome resets the backoff. */
const STABLE_MS = 1000;

/**
 * How long the node waits before it redials the edge: exponential from 50 ms, capped at 5 s, with
 * up to the same again in jitter so a fleet that lost the edge together does not redial together.
 * A connection that lasted starts the backoff over. Sans-IO: time comes in as `now`.
 */
export class RedialBackoff {
  private attempt = 0;
  private welcomedAt: number | undefined;

  /** The edge welcomed the current socket at `now`. */
  welcomed(now: number): void {
    this.welcomedAt = now;
  }

  /** The socket closed (or never opened) at `now`: the delay before the next dial. `random` is in [0, 1). */
  dropped(now: number, random: number): number {
    if (this.welcomedAt !== undefined && now - this.welcomedAt >= STABLE_MS) this.attempt = 0;
    this.welcomedAt = undefined;
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
    this.attempt++;
    return Math.round(Math.min(MAX_RETRY_MS, base * (1 + random)));
  }
}
