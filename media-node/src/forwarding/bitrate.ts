/**
 * Bitrate of one RTP stream over a sliding window (sans-IO: time passed in). Bytes are counted in
 * fixed buckets, so the cost per packet is one addition.
 */
export class BitrateMeter {
  private readonly ids: Float64Array;
  private readonly bytes: Float64Array;

  constructor(
    readonly windowMs = 1000,
    private readonly bucketMs = 100,
  ) {
    const slots = Math.ceil(windowMs / bucketMs);
    this.ids = new Float64Array(slots).fill(-1);
    this.bytes = new Float64Array(slots);
  }

  add(bytes: number, now: number): void {
    const id = Math.floor(now / this.bucketMs);
    const slot = id % this.ids.length;
    if (this.ids[slot] !== id) {
      this.ids[slot] = id;
      this.bytes[slot] = 0;
    }
    this.bytes[slot]! += bytes;
  }

  /** Bits per second over the last window (the current, partial bucket included). */
  bps(now: number): number {
    const newest = Math.floor(now / this.bucketMs);
    let total = 0;
    for (let i = 0; i < this.ids.length; i++) if (newest - this.ids[i]! < this.ids.length && this.ids[i]! <= newest) total += this.bytes[i]!;
    return (total * 8 * 1000) / this.windowMs;
  }
}
