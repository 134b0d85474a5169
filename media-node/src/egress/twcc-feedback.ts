import type { TransportWideCC } from "werift";

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

interface RunLength {
  packetStatus: number;
  runLength: number;
}
interface StatusVector {
  symbolList: number[];
}

/**
 * Expands a feedback message into per-packet results. werift parses the chunks and deltas but its
 * own expansion skips status-vector chunks and counts one packet too many per run, so the chunk
 * walk is done here. Returns undefined for a message whose deltas do not add up.
 */
export function twccPacketResults(fb: TransportWideCC): TwccPacketResult[] | undefined {
  const statuses: number[] = [];
  for (const chunk of fb.packetChunks as unknown as Array<RunLength | StatusVector>) {
    if ("runLength" in chunk) for (let i = 0; i < chunk.runLength && statuses.length < fb.packetStatusCount; i++) statuses.push(chunk.packetStatus);
    else for (const s of chunk.symbolList) if (statuses.length < fb.packetStatusCount) statuses.push(s);
  }
  const deltas = fb.recvDeltas;
  let d = 0;
  let arrivalUs = fb.referenceTime * 64_000;
  const results: TwccPacketResult[] = [];
  for (let i = 0; i < statuses.length; i++) {
    const status = statuses[i]!;
    const transportSeq = (fb.baseSequenceNumber + i) & 0xffff;
    if (status === SMALL_DELTA || status === LARGE_DELTA) {
      const delta = deltas[d++];
      if (!delta) return undefined;
      arrivalUs += delta.delta;
      results.push({ transportSeq, received: true, arrivalMs: arrivalUs / 1000 });
    } else if (status === NOT_RECEIVED) {
      results.push({ transportSeq, received: false, arrivalMs: NaN });
    }
  }
  return results;
}
