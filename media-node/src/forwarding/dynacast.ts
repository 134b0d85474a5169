/**
 * Dynacast (sans-IO, pure): which simulcast layers of a published track the publisher must send.
 *
 * A layer is needed while some subscriber receives it or wants it (a subscriber moving to another
 * layer keeps the old one until the switch). The lowest layer is always kept: it costs little, and
 * a new subscriber or a tile that becomes visible gets a picture at once instead of waiting for a
 * round trip to the publisher (LiveKit pauses every layer instead; we trade ~150 kbps of upload
 * for a fast first frame).
 */
export interface LayerUse {
  current: string | null;
  wanted: string | null;
}

/** The needed rids, in the track's layer order (lowest first). */
export function layerDemand(rids: readonly string[], uses: Iterable<LayerUse>): string[] {
  const needed = new Set<string>();
  if (rids.length > 0) needed.add(rids[0]!);
  for (const u of uses) {
    if (u.current !== null) needed.add(u.current);
    if (u.wanted !== null) needed.add(u.wanted);
  }
  return rids.filter((r) => needed.has(r));
}

/**
 * Turns a demand that changes often into publisher instructions that do not flap: a layer that
 * becomes needed is turned on at once; one no longer needed is turned off only after it has been
 * unneeded for `holdMs`. The publisher starts with every layer on.
 */
export class DemandDebouncer {
  private published: string[] | undefined;
  private readonly lastNeeded = new Map<string, number>();

  constructor(private readonly holdMs: number) {}

  /** The rids the publisher should send, when that changed; else undefined. */
  update(rids: readonly string[], demand: readonly string[], now: number): string[] | undefined {
    for (const r of rids) if (!this.lastNeeded.has(r)) this.lastNeeded.set(r, now);
    for (const r of demand) this.lastNeeded.set(r, now);
    const next = rids.filter((r) => demand.includes(r) || now - this.lastNeeded.get(r)! < this.holdMs);
    const previous = this.published ?? rids;
    this.published = next;
    return sameList(previous, next) ? undefined : next;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
