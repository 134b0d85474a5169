/**
 * Server-side active-speaker detection from RFC 6464 audio levels (sans-IO: time passed in).
 *
 * Each audio packet carries a level in -dBov (0 = loudest, 127 = silence). A participant's score is
 * its loudest packet over the last `windowMs` (speech and the gaps between words both fit in a
 * window), so one loud packet does not flip the speaker and a pause does not drop it. The current
 * speaker keeps the floor until someone is louder by `margin`, or it falls below `threshold`.
 */
export interface ActiveSpeakerOptions {
  windowMs: number;
  bucketMs: number;
  /** Least loudness (127 - level) that counts as speaking; 127 - 80 ≈ speech at -80 dBov or louder. */
  threshold: number;
  margin: number;
}

const DEFAULTS: ActiveSpeakerOptions = { windowMs: 1500, bucketMs: 100, threshold: 47, margin: 6 };

export class ActiveSpeakerDetector {
  private readonly buckets = new Map<string, { ids: Float64Array; max: Uint8Array }>();
  private current: string | null = null;
  private readonly opts: ActiveSpeakerOptions;
  private readonly slots: number;

  constructor(opts: Partial<ActiveSpeakerOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.slots = Math.ceil(this.opts.windowMs / this.opts.bucketMs);
  }

  /** One audio packet's level (0..127, RFC 6464) from a participant. */
  observe(participantId: string, level: number, now: number): void {
    let b = this.buckets.get(participantId);
    if (!b) {
      b = { ids: new Float64Array(this.slots).fill(-1), max: new Uint8Array(this.slots) };
      this.buckets.set(participantId, b);
    }
    const id = Math.floor(now / this.opts.bucketMs);
    const slot = id % this.slots;
    const loudness = 127 - Math.max(0, Math.min(127, level));
    if (b.ids[slot] !== id) {
      b.ids[slot] = id;
      b.max[slot] = loudness;
    } else if (loudness > b.max[slot]!) b.max[slot] = loudness;
  }

  remove(participantId: string): void {
    this.buckets.delete(participantId);
  }

  score(participantId: string, now: number): number {
    const b = this.buckets.get(participantId);
    if (!b) return 0;
    const newest = Math.floor(now / this.opts.bucketMs);
    let best = 0;
    for (let i = 0; i < this.slots; i++) {
      if (newest - b.ids[i]! < this.slots && b.max[i]! > best) best = b.max[i]!;
    }
    return best;
  }

  /** Re-evaluates the speaker; returns the new one (or null for nobody) when it changed, else undefined. */
  tick(now: number): string | null | undefined {
    let best: string | null = null;
    let bestScore = 0;
    for (const id of this.buckets.keys()) {
      const s = this.score(id, now);
      if (s > bestScore) [best, bestScore] = [id, s];
    }
    const currentScore = this.current === null ? 0 : this.score(this.current, now);
    let next: string | null;
    if (bestScore < this.opts.threshold) next = null;
    else if (this.current !== null && currentScore >= this.opts.threshold && bestScore < currentScore + this.opts.margin) next = this.current;
    else next = best;
    if (next === this.current) return undefined;
    this.current = next;
    return next;
  }
}
