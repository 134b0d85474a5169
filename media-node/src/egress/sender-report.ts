const NTP_EPOCH_OFFSET_S = 2_208_988_800;

/** What a sender report needs of its stream: the RTP timestamp of the last packet sent, and when it was sent. */
export interface SentPosition {
  readonly lastTimestamp: number;
  /** The node's monotonic clock, ms. */
  readonly lastSentAt: number;
}

/**
 * The NTP and RTP timestamps of a sender report made at `now` (monotonic ms; `wallMs` is the same
 * instant on the wall clock). Both describe that one instant: the RTP timestamp is the last packet's,
 * advanced by the time since it was sent at the stream's clock rate, so receivers can line the
 * stream up with others (lip sync) from the pair.
 */
export function senderReportTimestamps(stream: SentPosition, clockRate: number, now: number, wallMs: number): { ntp: bigint; rtp: number } {
  const rtp = (stream.lastTimestamp + Math.round(((now - stream.lastSentAt) * clockRate) / 1000)) >>> 0;
  return { ntp: ntpTimestamp(wallMs), rtp };
}

/** 64-bit NTP time (RFC 5905): seconds since 1900 in the high word, the fraction of a second in the low word. */
export function ntpTimestamp(wallMs: number): bigint {
  const seconds = Math.floor(wallMs / 1000) + NTP_EPOCH_OFFSET_S;
  const fraction = Math.floor(((wallMs % 1000) / 1000) * 0x1_0000_0000);
  return (BigInt(seconds) << 32n) | BigInt(fraction);
}
