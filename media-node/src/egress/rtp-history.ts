/**
 * The recent packets of one outgoing stream, kept so that NACKed packets can be sent again
 * (sans-IO: time is passed in). It keeps what re-sending needs, not the encrypted bytes: the
 * payload buffer is the publisher's, shared by every subscriber, so history costs a reference
 * per packet rather than a copy; the packet is protected again when it is resent.
 *
 * The ring starts small and doubles (up to `maxSize`) only when a packet would overwrite one that
 * is still young enough to be resent, so it holds `maxAgeMs` of the stream's packets whatever its
 * rate: an audio stream keeps ~128 slots, 1.5 Mbps video ~512, and a node with many subscribers
 * does not pay video-sized rings for every audio stream. When to record a resend is allocated on
 * the first NACK: most streams are never NACKed.
 */
export interface HistoricPacket {
  payload: Buffer;
  timestamp: number;
  marker: boolean;
}

const INITIAL_SIZE = 64;

export class RtpHistory {
  private payloads: Array<Buffer | undefined>;
  private seqs: Int32Array;
  private timestamps: Uint32Array;
  private markers: Uint8Array;
  private storedAt: Float64Array;
  private resentAt: Float64Array | undefined;
  private mask: number;

  /**
   * @param maxSize most packets held, a power of two: 512 packets is about 3 s of 1.5 Mbps video.
   * @param maxAgeMs older packets are not resent: the receiver has given up on them by then.
   * @param minResendIntervalMs a packet NACKed again sooner than this is not resent twice.
   */
  constructor(
    private readonly maxSize = 512,
    private readonly maxAgeMs = 1500,
    private readonly minResendIntervalMs = 20,
  ) {
    if (maxSize & (maxSize - 1)) throw new Error("history size must be a power of two");
    const size = Math.min(INITIAL_SIZE, maxSize);
    this.mask = size - 1;
    this.payloads = new Array(size);
    this.seqs = new Int32Array(size).fill(-1);
    this.timestamps = new Uint32Array(size);
    this.markers = new Uint8Array(size);
    this.storedAt = new Float64Array(size);
  }

  /** Slots in the ring now (it grows up to maxSize). */
  get size(): number {
    return this.mask + 1;
  }

  store(sequenceNumber: number, payload: Buffer, timestamp: number, marker: boolean, now: number): void {
    let i = sequenceNumber & this.mask;
    if (this.seqs[i] !== -1 && this.seqs[i] !== sequenceNumber && this.mask + 1 < this.maxSize && now - this.storedAt[i]! <= this.maxAgeMs) {
      this.grow();
      i = sequenceNumber & this.mask;
    }
    this.payloads[i] = payload;
    this.seqs[i] = sequenceNumber;
    this.timestamps[i] = timestamp;
    this.markers[i] = marker ? 1 : 0;
    this.storedAt[i] = now;
    if (this.resentAt) this.resentAt[i] = -Infinity;
  }

  /** The packet to resend for a NACK of `sequenceNumber`, or undefined (unknown, too old, just resent). */
  takeForResend(sequenceNumber: number, now: number): HistoricPacket | undefined {
    const i = sequenceNumber & this.mask;
    const payload = this.payloads[i];
    if (!payload || this.seqs[i] !== sequenceNumber) return undefined;
    if (now - this.storedAt[i]! > this.maxAgeMs) return undefined;
    const resentAt = (this.resentAt ??= new Float64Array(this.mask + 1).fill(-Infinity));
    if (now - resentAt[i]! < this.minResendIntervalMs) return undefined;
    resentAt[i] = now;
    return { payload, timestamp: this.timestamps[i]!, marker: this.markers[i] === 1 };
  }

  clear(): void {
    this.payloads.fill(undefined);
    this.seqs.fill(-1);
  }

  /** Doubles the ring, keeping every packet (each lands in one of its two possible new slots). */
  private grow(): void {
    const size = (this.mask + 1) * 2;
    const mask = size - 1;
    const payloads = new Array<Buffer | undefined>(size);
    const seqs = new Int32Array(size).fill(-1);
    const timestamps = new Uint32Array(size);
    const markers = new Uint8Array(size);
    const storedAt = new Float64Array(size);
    const resentAt = this.resentAt && new Float64Array(size).fill(-Infinity);
    for (let j = 0; j <= this.mask; j++) {
      const seq = this.seqs[j]!;
      if (seq === -1) continue;
      const k = seq & mask;
      payloads[k] = this.payloads[j];
      seqs[k] = seq;
      timestamps[k] = this.timestamps[j]!;
      markers[k] = this.markers[j]!;
      storedAt[k] = this.storedAt[j]!;
      if (resentAt) resentAt[k] = this.resentAt![j]!;
    }
    this.payloads = payloads;
    this.seqs = seqs;
    this.timestamps = timestamps;
    this.markers = markers;
    this.storedAt = storedAt;
    this.resentAt = resentAt;
    this.mask = mask;
  }
}
