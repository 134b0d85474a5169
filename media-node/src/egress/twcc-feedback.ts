import { TransportWideCC } from "werift";

/** One packet's fate in a transport-wide feedback message (draft-holmer-rmcat-transport-wide-cc-extensions-01). */
export interface TwccPacketResult {
  transportSeq: number;
  received: boolean;
  /** Arrival time at the receiver in ms on the receiver's clock (only differences mean anything). */
  arrivalMs: number;
}

const NOT_RECEIVED = 0;
const SMALL_DELTA = 1;
const LARGE_DELTA = 2;
/** The fixed part of the message after the RTCP header: sender and media SSRC, base, count, reference time, feedback count. */
const FIXED_BYTES = 16;

/** A feedback message as the node's parse leaves it: the fixed fields, and its bytes for the walk below. */
type RawFeedback = TransportWideCC & { raw?: Buffer };

/**
 * werift parses every transport-wide feedback into objects bit by bit (a slice per chunk and per
 * delta) before anyone reads it; at one message per subscriber every 50–100 ms that was a tenth of
 * the node's CPU. This parse reads only the fixed fields and keeps the bytes; `twccPacketResults`
 * walks them once. The node is werift's only user in its process, and its own sender-side
 * estimator (which read the parsed chunks) is switched off for every stream the egress sends.
 */
(TransportWideCC as unknown as { deSerialize: (data: Buffer, header: unknown) => RawFeedback }).deSerialize = (data, header) => {
  if (data.length < FIXED_BYTES) throw new Error("transport-wide feedback too short");
  return Object.assign(new TransportWideCC({ header: header as TransportWideCC["header"] }), {
    senderSsrc: data.readUInt32BE(0),
    mediaSourceSsrc: data.readUInt32BE(4),
    baseSequenceNumber: data.readUInt16BE(8),
    packetStatusCount: data.readUInt16BE(10),
    referenceTime: data.readUIntBE(12, 3),
    fbPktCount: data[15]!,
    raw: data,
  });
};

/**
 * Expands a feedback message into per-packet results: run-length and status-vector chunks (1- and
 * 2-bit symbols), then one receive delta (250 µs units; 1 byte, or 2 signed) per received packet.
 * Returns undefined for a message whose chunks or deltas do not add up.
 */
export function twccPacketResults(fb: TransportWideCC): TwccPacketResult[] | undefined {
  const raw = (fb as RawFeedback).raw;
  if (!raw) return undefined;
  const count = fb.packetStatusCount;
  const statuses = new Uint8Array(count);
  let n = 0;
  let pos = FIXED_BYTES;
  while (n < count) {
    if (pos + 2 > raw.length) return undefined;
    const chunk = raw.readUInt16BE(pos);
    pos += 2;
    if ((chunk & 0x8000) === 0) {
      const status = (chunk >> 13) & 3;
      for (let run = chunk & 0x1fff; run > 0 && n < count; run--) statuses[n++] = status;
    } else if ((chunk & 0x4000) === 0) {
      for (let bit = 13; bit >= 0 && n < count; bit--) statuses[n++] = (chunk >> bit) & 1;
    } else {
      for (let bit = 12; bit >= 0 && n < count; bit -= 2) statuses[n++] = (chunk >> bit) & 3;
    }
  }
  let arrivalUs = fb.referenceTime * 64_000;
  const results: TwccPacketResult[] = [];
  for (let i = 0; i < count; i++) {
    const status = statuses[i]!;
    const transportSeq = (fb.baseSequenceNumber + i) & 0xffff;
    if (status === SMALL_DELTA) {
      if (pos + 1 > raw.length) return undefined;
      arrivalUs += raw[pos++]! * 250;
    } else if (status === LARGE_DELTA) {
      if (pos + 2 > raw.length) return undefined;
      arrivalUs += raw.readInt16BE(pos) * 250;
      pos += 2;
    } else {
      if (status === NOT_RECEIVED) results.push({ transportSeq, received: false, arrivalMs: NaN });
      continue;
    }
    results.push({ transportSeq, received: true, arrivalMs: arrivalUs / 1000 });
  }
  return results;
}
