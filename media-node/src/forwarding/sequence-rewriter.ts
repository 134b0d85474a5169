/**
 * Per-subscriber RTP sequence number and timestamp rewriting (sans-IO: no sockets, time passed in).
 *
 * A subscriber sees one continuous stream per m-line even when the source behind it changes (a
 * publisher restarts with a new SSRC, or later a simulcast layer switch): sequence numbers continue
 * at +1 and timestamps advance by the wall-clock time elapsed since the last packet forwarded.
 * Reordered packets keep their order; packets older than the last source switch are dropped,
 * because they would land before the switch point.
 */
export interface RtpPosition {
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
}

export interface RewrittenPosition {
  sequenceNumber: number;
  timestamp: number;
}

const SEQ_MOD = 0x1_0000;
const TS_MOD = 0x1_0000_0000;

/** Signed distance a → b in 16-bit sequence space, in [-32768, 32767]. */
export function seqDelta(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - SEQ_MOD : d;
}

const mod = (n: number, m: number) => ((n % m) + m) % m;

export class SequenceRewriter {
  private source: number | undefined;
  private seqOffset = 0;
  private tsOffset = 0;
  private highestInSeq = 0;
  /**
   * How far the highest input sequence number is past the current source's first one, unwrapped (it
   * keeps growing across 16-bit wraps): a packet that lands below zero is from before the switch.
   */
  private highestSinceSwitch = 0;
  private lastOut: { sequenceNumber: number; timestamp: number; at: number } | undefined;

  constructor(
    readonly clockRate: number,
    private readonly firstSeq: number = Math.floor(Math.random() * SEQ_MOD),
    private readonly firstTs: number = Math.floor(Math.random() * TS_MOD),
  ) {}

  /** Rewrites one packet's position, or returns undefined when it must be dropped. */
  rewrite(pkt: RtpPosition, now: number): RewrittenPosition | undefined {
    if (pkt.ssrc !== this.source) this.switchTo(pkt, now);
    const delta = seqDelta(this.highestInSeq, pkt.sequenceNumber);
    if (this.highestSinceSwitch + delta < 0) return undefined;
    const out = {
      sequenceNumber: mod(pkt.sequenceNumber + this.seqOffset, SEQ_MOD),
      timestamp: mod(pkt.timestamp + this.tsOffset, TS_MOD),
    };
    if (delta > 0) {
      this.highestInSeq = pkt.sequenceNumber;
      this.highestSinceSwitch += delta;
      this.lastOut = { ...out, at: now };
    } else if (this.lastOut && delta === 0) {
      this.lastOut.at = now;
    }
    return out;
  }

  /**
   * The next packet starts a new stretch even if its SSRC is the one seen last (a layer that was
   * paused for this subscriber and resumes): it continues at the last output sequence number + 1
   * instead of leaving a gap the subscriber would try to repair.
   */
  restart(): void {
    this.source = undefined;
  }

  private switchTo(pkt: RtpPosition, now: number): void {
    const last = this.lastOut;
    const seq = last ? mod(last.sequenceNumber + 1, SEQ_MOD) : this.firstSeq;
    const elapsedTicks = last ? Math.max(1, Math.round(((now - last.at) * this.clockRate) / 1000)) : 0;
    const ts = last ? mod(last.timestamp + elapsedTicks, TS_MOD) : this.firstTs;
    this.source = pkt.ssrc;
    this.seqOffset = seq - pkt.sequenceNumber;
    this.tsOffset = ts - pkt.timestamp;
    this.highestInSeq = pkt.sequenceNumber;
    this.highestSinceSwitch = 0;
    this.lastOut = { sequenceNumber: seq, timestamp: ts, at: now };
  }
}
