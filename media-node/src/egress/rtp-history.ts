/**
 * The recent packets of one outgoing stream, kept so that NACKed packets can be sent again
 * (sans-IO: time is passed in). It keeps what re-sending needs, not the encrypted bytes: the
 * payload buffer is the publisher's, shared by every subscriber, so history costs a reference
 * per packet rather than a copy; the packet is protected again when it is resent.
 */
export interface HistoricPacket {
  payload: Buffer;
  timestamp: number;
  marker: boolean;
}

export class RtpHistory {
  private readonly payloads: Array<Buffer | undefined>;
  private readonly seqs: Int32Array;
  private readonly timestamps: Uint32Array;
  private readonly markers: Uint8Array;
  private readonly storedAt: Float64Array;
  private readonly resentAt: Float64Array;
  private readonly mask: number;

  /**
   * @param size ring size, a power of two: 512 packets is about 3 s of 1.5 Mbps video.
   * @param maxAgeMs older packets are not resent: the receiver has given up on them by then.
   * @param minResendIntervalMs a packet NACKed again sooner than this is not resent twice.
   */
  constructor(
    size = 512,
    private readonly maxAgeMs = 1500,
    private readonly minResendIntervalMs = 20,
  ) {
    if (size & (size - 1)) throw new Error("history size must be a power of two");
    this.mask = size - 1;
    this.payloads = new Array(size);
    this.seqs = new Int32Array(size).fill(-1);
    this.timestamps = new Uint32Array(size);
    this.markers = new Uint8Array(size);
    this.storedAt = new Float64Array(size);
    this.resentAt = new Float64Array(size);
  }

  store(sequenceNumber: number, payload: Buffer, timestamp: number, marker: boolean, now: number): void {
    const i = sequenceNumber & this.mask;
    this.payloads[i] = payload;
    this.seqs[i] = sequenceNumber;
    this.timestamps[i] = timestamp;
    this.markers[i] = marker ? 1 : 0;
    this.storedAt[i] = now;
    this.resentAt[i] = -Infinity;
  }

  /** The packet to resend for a NACK of `sequenceNumber`, or undefined (unknown, too old, just resent). */
  takeForResend(sequenceNumber: number, now: number): HistoricPacket | undefined {
    const i = sequenceNumber & this.mask;
    const payload = this.payloads[i];
    if (!payload || this.seqs[i] !== sequenceNumber) return undefined;
    if (now - this.storedAt[i]! > this.maxAgeMs) return undefined;
    if (now - this.resentAt[i]! < this.minResendIntervalMs) return undefined;
    this.resentAt[i] = now;
    return { payload, timestamp: this.timestamps[i]!, marker: this.markers[i] === 1 };
  }

  clear(): void {
    this.payloads.fill(undefined);
    this.seqs.fill(-1);
  }
}
