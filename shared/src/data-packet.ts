/**
 * App data through the SFU, on WebRTC data channels of the publisher PeerConnection (both ways):
 * `_reliable` (ordered, retransmitted) and `_lossy` (unordered, no retransmission). Each message
 * is one binary frame: a version byte, a 2-byte big-endian header length, a JSON header, then the
 * payload bytes. The browser's header names the recipients (`to`; none: everyone else in the room);
 * the node's header names the sender (`from`), or refuses a message (`error`, sent back to its
 * sender on the reliable channel, nothing delivered).
 */
import * as z from "zod";

export const DATA_PACKET_VERSION = 1;
export const DATA_CHANNEL_LABELS = { reliable: "_reliable", lossy: "_lossy" } as const;
/** Largest payload of one message (what SCTP carries without fragmenting into many chunks anywhere). */
export const MAX_DATA_PAYLOAD_BYTES = 15 * 1024;
export const MAX_DATA_RECIPIENTS = 64;
const MAX_HEADER_BYTES = 4096;
/** Largest frame the node reads: header and payload at their limits. */
export const MAX_DATA_FRAME_BYTES = 3 + MAX_HEADER_BYTES + MAX_DATA_PAYLOAD_BYTES;
/** Payload bytes per second each participant may send (a token bucket holding DATA_BURST_BYTES). */
export const DATA_RATE_BYTES_PER_S = 256 * 1024;
export const DATA_BURST_BYTES = 1024 * 1024;

export const DataErrorCode = z.enum([
  /** Not a frame of this format (text, a bad header, a wrong version). */
  "bad-data-packet",
  /** Over MAX_DATA_PAYLOAD_BYTES. */
  "data-too-large",
  /** A named recipient is not in the room (or is the sender). */
  "unknown-recipient",
  /** Over DATA_RATE_BYTES_PER_S. */
  "data-rate-limited",
]);
export type DataErrorCode = z.infer<typeof DataErrorCode>;

const ParticipantId = z.string().min(1).max(64);
export const SentDataHeader = z.strictObject({ to: z.array(ParticipantId).max(MAX_DATA_RECIPIENTS).optional() });
export type SentDataHeader = z.infer<typeof SentDataHeader>;
export const DeliveredDataHeader = z.union([
  z.strictObject({ from: ParticipantId }),
  z.strictObject({ error: DataErrorCode, message: z.string().max(512) }),
]);
export type DeliveredDataHeader = z.infer<typeof DeliveredDataHeader>;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function encodeDataFrame(header: SentDataHeader | DeliveredDataHeader, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = utf8.encode(JSON.stringify(header));
  if (head.length > MAX_HEADER_BYTES) throw new RangeError(`a data header is at most ${MAX_HEADER_BYTES} bytes`);
  const frame = new Uint8Array(3 + head.length + payload.length);
  frame[0] = DATA_PACKET_VERSION;
  frame[1] = head.length >> 8;
  frame[2] = head.length & 0xff;
  frame.set(head, 3);
  frame.set(payload, 3 + head.length);
  return frame;
}

/** A frame's JSON header (not yet validated) and payload, or why it is not a frame. */
export function decodeDataFrame(frame: Uint8Array): { ok: true; header: unknown; payload: Uint8Array } | { ok: false; message: string } {
  if (frame.length < 3) return { ok: false, message: "a data frame is at least 3 bytes" };
  if (frame[0] !== DATA_PACKET_VERSION) return { ok: false, message: `data frames are version ${DATA_PACKET_VERSION}` };
  const length = (frame[1]! << 8) | frame[2]!;
  if (length > MAX_HEADER_BYTES || 3 + length > frame.length) return { ok: false, message: "the data header length is wrong" };
  try {
    return { ok: true, header: JSON.parse(fromUtf8.decode(frame.subarray(3, 3 + length))), payload: frame.subarray(3 + length) };
  } catch {
    return { ok: false, message: "the data header is not JSON" };
  }
}
