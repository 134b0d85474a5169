/**
 * Where one participant's app-data message goes (sans-IO: bytes and `now` in, a decision out):
 * checked against the frame format, the size limit, the sender's byte rate and the room's roster,
 * then re-framed once with the sender's id for every recipient. A refusal delivers nothing.
 */
import {
  DATA_BURST_BYTES,
  DATA_RATE_BYTES_PER_S,
  decodeDataFrame,
  encodeDataFrame,
  fullBucket,
  MAX_DATA_FRAME_BYTES,
  MAX_DATA_PAYLOAD_BYTES,
  SentDataHeader,
  takeTokens,
  type Bucket,
  type BucketLimits,
  type DataErrorCode,
} from "@sfu/shared";

export type DataRoute = { ok: true; to: string[]; frame: Uint8Array } | { ok: false; code: DataErrorCode; message: string; reply: Uint8Array };

const LIMITS: BucketLimits = { ratePerS: DATA_RATE_BYTES_PER_S, burst: DATA_BURST_BYTES };

export class DataRouter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: BucketLimits = LIMITS) {}

  /** `from` sent `data`; `roster` is everyone in the room now (the sender included). */
  route(from: string, data: Uint8Array | string, roster: ReadonlySet<string>, now: number): DataRoute {
    if (typeof data === "string") return refuse("bad-data-packet", "app data goes in binary frames (see shared/src/data-packet.ts)");
    if (data.length > MAX_DATA_FRAME_BYTES) return refuse("data-too-large", `a data message is at most ${MAX_DATA_PAYLOAD_BYTES} bytes`);
    const decoded = decodeDataFrame(data);
    if (!decoded.ok) return refuse("bad-data-packet", decoded.message);
    const header = SentDataHeader.safeParse(decoded.header);
    if (!header.success) return refuse("bad-data-packet", "the data header is not { to?: participant ids }");
    const { payload } = decoded;
    if (payload.length > MAX_DATA_PAYLOAD_BYTES) return refuse("data-too-large", `a data message is at most ${MAX_DATA_PAYLOAD_BYTES} bytes`);
    const named = header.data.to;
    const unknown = named?.filter((id) => id === from || !roster.has(id)) ?? [];
    if (unknown.length) return refuse("unknown-recipient", `not in the room: ${unknown.slice(0, 4).join(", ")}${unknown.length > 4 ? ", …" : ""}`);
    const { bucket, allowed } = takeTokens(this.buckets.get(from) ?? fullBucket(now, this.limits), payload.length, now, this.limits);
    this.buckets.set(from, bucket);
    if (!allowed) return refuse("data-rate-limited", `app data is limited to ${Math.round(this.limits.ratePerS / 1024)} KiB a second per participant`);
    const to = named ? [...new Set(named)] : [...roster].filter((id) => id !== from);
    return { ok: true, to, frame: encodeDataFrame({ from }, payload) };
  }

  /** The participant left. */
  forget(participantId: string): void {
    this.buckets.delete(participantId);
  }
}

function refuse(code: DataErrorCode, message: string): DataRoute {
  return { ok: false, code, message, reply: encodeDataFrame({ error: code, message }, new Uint8Array(0)) };
}
