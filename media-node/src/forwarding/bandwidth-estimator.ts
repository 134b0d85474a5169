import type { TwccPacketResult } from "../egress/twcc-feedback.ts";

/**
 * A subscriber's available bandwidth, estimated on the send side from transport-wide congestion
 * control feedback (sans-IO: the caller passes `now`, a monotonic clock in ms).
 *
 * The node numbers every packet it sends to a subscriber; the browser reports which arrived and
 * when. From that come three signals over each feedback window: loss, the rate that actually got
 * through, and queuing delay (one-way delay above the lowest seen recently, which cancels the
 * unknown clock offset). The estimate reacts like Google's congestion control, simplified:
 *  - overuse (loss > 10 %, or queuing delay past 80 ms): drop to 85 % of the delivered rate, at
 *    most once per 300 ms so the queue has time to drain;
 *  - under 2 % loss and under 25 ms of queuing: grow 8 % a second;
 *  - in between: hold.
 * The node does not probe with padding, so growth past what is being sent is optimistic: it lets
 * layer selection try the next layer up, and that try is the probe. To keep a link that cannot
 * carry the upper layer from flapping, growth waits `holdMs` after every drop, and that wait
 * doubles (2 s up to 32 s) each time a drop follows the previous one within 10 s of growth.
 */

/**
 * The sent-packet ring starts at RING_MIN and doubles, up to RING_MAX, whenever a packet would
 * overwrite one sent less than FEEDBACK_WAIT_MS ago (whose feedback may still come): a subscriber
 * at 1.5 Mbps keeps 512 slots (7 KiB) instead of 4096 (56 KiB), and a fast one still gets every
 * slot it needs.
 */
const RING_MIN = 256;
const RING_MAX = 4096;
const FEEDBACK_WAIT_MS = 2000;
const HIGH_LOSS = 0.1;
const LOW_LOSS = 0.02;
const OVERUSE_DELAY_MS = 80;
const NORMAL_DELAY_MS = 25;
const DECREASE_GAP_MS = 300;
const RATE_WINDOW_MS = 500;
const BASE_DELAY_WINDOW_MS = 10_000;
const HOLD_MIN_MS = 2000;
const HOLD_MAX_MS = 32_000;

export interface EstimatorOptions {
  initialBps?: number;
  minBps?: number;
  maxBps?: number;
}

export class BandwidthEstimator {
  private sentAt = new Float64Array(RING_MIN);
  private sentBytes = new Uint16Array(RING_MIN);
  private sentSeq = new Int32Array(RING_MIN).fill(-1);
  private mask = RING_MIN - 1;
  private estimate: number;
  private readonly minBps: number;
  private readonly maxBps: number;

  // Current feedback window.
  private windowStart: number | undefined;
  private windowReceived = 0;
  private windowLost = 0;
  private windowBytes = 0;
  private deliveredBps: number | undefined;

  // Queuing delay: one-way delay minus the minimum over the last ~10 s (kept as two half-windows).
  private baseDelay = Infinity;
  private previousBaseDelay = Infinity;
  private baseDelaySince = 0;
  private queuingDelayMs = 0;

  private lastUpdate: number | undefined;
  private lastDecrease = -Infinity;
  private holdMs = HOLD_MIN_MS;
  private growingSince: number | undefined;
  /** Counts of what the estimate did, for stats and tests. */
  readonly events = { decreases: 0, feedbacks: 0 };

  constructor(opts: EstimatorOptions = {}) {
    this.minBps = opts.minBps ?? 100_000;
    this.maxBps = opts.maxBps ?? 20_000_000;
    this.estimate = Math.min(this.maxBps, opts.initialBps ?? 2_500_000);
  }

  get bps(): number {
    return Math.round(this.estimate);
  }

  get lastDeliveredBps(): number | undefined {
    return this.deliveredBps;
  }

  /** Loss over the last feedback window, 0..1. */
  lastLoss = 0;

  get queuingDelay(): number {
    return this.queuingDelayMs;
  }

  /** Slots in the sent-packet ring now. */
  get ringSize(): number {
    return this.mask + 1;
  }

  onPacketSent(transportSeq: number, bytes: number, now: number): void {
    let i = transportSeq & this.mask;
    if (this.sentSeq[i] !== -1 && this.mask < RING_MAX - 1 && now - this.sentAt[i]! < FEEDBACK_WAIT_MS && this.sentSeq[i] !== transportSeq) {
      this.grow();
      i = transportSeq & this.mask;
    }
    this.sentSeq[i] = transportSeq;
    this.sentAt[i] = now;
    this.sentBytes[i] = Math.min(bytes, 0xffff);
  }

  onFeedback(results: readonly TwccPacketResult[], now: number): void {
    this.events.feedbacks++;
    this.windowStart ??= now;
    let delaySum = 0;
    let delayCount = 0;
    for (const r of results) {
      const i = r.transportSeq & this.mask;
      if (this.sentSeq[i] !== r.transportSeq) continue; // not ours, or too old
      if (!r.received) {
        this.windowLost++;
        continue;
      }
      this.windowReceived++;
      this.windowBytes += this.sentBytes[i]!;
      const oneWay = r.arrivalMs - this.sentAt[i]!;
      this.trackBaseDelay(oneWay, now);
      delaySum += oneWay;
      delayCount++;
    }
    if (delayCount > 0) {
      const queuing = Math.max(0, delaySum / delayCount - Math.min(this.baseDelay, this.previousBaseDelay));
      this.queuingDelayMs = 0.7 * this.queuingDelayMs + 0.3 * queuing;
    }
    if (now - this.windowStart >= RATE_WINDOW_MS) this.closeWindow(now);
  }

  private closeWindow(now: number): void {
    const elapsed = now - this.windowStart!;
    const total = this.windowReceived + this.windowLost;
    const loss = total > 0 ? this.windowLost / total : 0;
    this.lastLoss = loss;
    this.deliveredBps = (this.windowBytes * 8 * 1000) / elapsed;
    const dt = this.lastUpdate === undefined ? 0 : (now - this.lastUpdate) / 1000;
    this.lastUpdate = now;

    const overuse = loss > HIGH_LOSS || this.queuingDelayMs > OVERUSE_DELAY_MS;
    if (overuse) {
      if (now - this.lastDecrease >= DECREASE_GAP_MS) this.decrease(now);
    } else if (loss < LOW_LOSS && this.queuingDelayMs < NORMAL_DELAY_MS && now - this.lastDecrease >= this.holdMs) {
      this.growingSince ??= now;
      this.estimate = Math.min(this.maxBps, this.estimate * Math.pow(1.08, dt));
    }
    if (this.growingSince !== undefined && now - this.growingSince > 30_000) this.holdMs = HOLD_MIN_MS;

    this.windowStart = now;
    this.windowReceived = 0;
    this.windowLost = 0;
    this.windowBytes = 0;
  }

  private decrease(now: number): void {
    const recentlyGrew = this.growingSince !== undefined && now - this.growingSince < 10_000;
    this.holdMs = recentlyGrew ? Math.min(HOLD_MAX_MS, this.holdMs * 2) : this.holdMs;
    this.growingSince = undefined;
    this.estimate = Math.max(this.minBps, Math.min(this.estimate, 0.85 * (this.deliveredBps ?? this.estimate)));
    this.lastDecrease = now;
    this.events.decreases++;
  }

  /** Doubles the ring; each entry lands in one of its two possible new slots, so none is lost. */
  private grow(): void {
    const size = (this.mask + 1) * 2;
    const sentAt = new Float64Array(size);
    const sentBytes = new Uint16Array(size);
    const sentSeq = new Int32Array(size).fill(-1);
    for (let j = 0; j <= this.mask; j++) {
      const seq = this.sentSeq[j]!;
      if (seq === -1) continue;
      const k = seq & (size - 1);
      sentSeq[k] = seq;
      sentAt[k] = this.sentAt[j]!;
      sentBytes[k] = this.sentBytes[j]!;
    }
    this.sentAt = sentAt;
    this.sentBytes = sentBytes;
    this.sentSeq = sentSeq;
    this.mask = size - 1;
  }

  private trackBaseDelay(oneWay: number, now: number): void {
    if (now - this.baseDelaySince > BASE_DELAY_WINDOW_MS / 2) {
      this.previousBaseDelay = this.baseDelay;
      this.baseDelay = Infinity;
      this.baseDelaySince = now;
    }
    if (oneWay < this.baseDelay) this.baseDelay = oneWay;
  }
}
