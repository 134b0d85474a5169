/**
 * The bitrate the node asks a publisher to stay under, sent to it as REMB (sans-IO, time passed in).
 *
 * Browsers estimate their uplink from feedback; werift gives them none, and without it Chrome's
 * video starts near 300 kbps and climbs for tens of seconds, so upper simulcast layers stay off. The
 * node therefore tells each publisher a ceiling: the configured maximum while the uplink delivers
 * cleanly, dropping to 85 % of what actually arrives when more than 10 % is lost, and climbing back
 * by 8 % a second once loss stays under 2 % (the loss thresholds of Google's congestion control).
 */
const HIGH_LOSS = 0.1;
const LOW_LOSS = 0.02;
const MIN_BPS = 100_000;

interface SsrcState {
  highestSeq: number;
  expected: number;
  received: number;
}

export class PublisherBitrate {
  private readonly ssrcs = new Map<number, SsrcState>();
  private bytes = 0;
  private windowStart: number | undefined;
  private bps: number;

  constructor(private readonly maxBps: number) {
    this.bps = maxBps;
  }

  observe(ssrc: number, sequenceNumber: number, bytes: number, now: number): void {
    this.windowStart ??= now;
    this.bytes += bytes;
    const s = this.ssrcs.get(ssrc);
    if (!s) {
      this.ssrcs.set(ssrc, { highestSeq: sequenceNumber, expected: 1, received: 1 });
      return;
    }
    s.received++;
    const d = (sequenceNumber - s.highestSeq) & 0xffff;
    if (d > 0 && d < 0x8000) {
      s.expected += d;
      s.highestSeq = sequenceNumber;
    }
  }

  /** Closes the measuring window and returns the ceiling to send. Call about once a second. */
  tick(now: number): number {
    const elapsed = this.windowStart === undefined ? 0 : now - this.windowStart;
    if (elapsed < 200) return this.bps;
    let expected = 0;
    let received = 0;
    for (const s of this.ssrcs.values()) {
      expected += s.expected;
      received += Math.min(s.received, s.expected);
      s.expected = 0;
      s.received = 0;
    }
    const loss = expected > 0 ? 1 - received / expected : 0;
    const arrivingBps = (this.bytes * 8 * 1000) / elapsed;
    if (loss > HIGH_LOSS) this.bps = Math.max(MIN_BPS, Math.min(this.bps, 0.85 * arrivingBps));
    else if (loss < LOW_LOSS) this.bps = Math.min(this.maxBps, this.bps * Math.pow(1.08, elapsed / 1000));
    this.bytes = 0;
    this.windowStart = now;
    return Math.round(this.bps);
  }
}

/** REMB's bitrate field: an 18-bit mantissa and a 6-bit exponent. */
export function rembBitrateFields(bps: number): { brExp: number; brMantissa: number } {
  let brMantissa = Math.max(0, Math.floor(bps));
  let brExp = 0;
  while (brMantissa >= 1 << 18) {
    brMantissa = Math.floor(brMantissa / 2);
    brExp++;
  }
  return { brExp, brMantissa };
}
