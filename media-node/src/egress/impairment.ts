import type { EgressImpairment } from "./rtp-egress.ts";

/** How much a burst may exceed the rate before drops start: what a small router queue absorbs. */
const BURST_MS = 250;

/**
 * A narrow, lossy link between the node and one subscriber, for tests and demos: a token-bucket
 * policer at `kbps` (BURST_MS of burst) plus random loss. Enabled only when the node runs with
 * DEBUG_IMPAIRMENT=1; it stands in for netem, which needs privileges tests do not have.
 */
export class LinkImpairment implements EgressImpairment {
  private tokens: number;
  private last: number | undefined;
  private readonly bytesPerMs: number;
  private readonly burst: number;
  dropped = 0;

  constructor(
    kbps: number | undefined,
    private readonly lossPercent = 0,
    private readonly random: () => number = Math.random,
  ) {
    this.bytesPerMs = kbps === undefined ? Infinity : (kbps * 1000) / 8 / 1000;
    this.burst = kbps === undefined ? Infinity : Math.max(1500, this.bytesPerMs * BURST_MS);
    this.tokens = this.burst;
  }

  drop(bytes: number, now: number): boolean {
    if (this.lossPercent > 0 && this.random() * 100 < this.lossPercent) return this.count();
    if (this.bytesPerMs === Infinity) return false;
    if (this.last !== undefined) this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.bytesPerMs);
    this.last = now;
    if (this.tokens < bytes) return this.count();
    this.tokens -= bytes;
    return false;
  }

  private count(): true {
    this.dropped++;
    return true;
  }
}
