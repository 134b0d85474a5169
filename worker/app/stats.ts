/** getStats() summaries: per remote participant, per simulcast encoding, the selected ICE pairs. */
import type { PcRole, SubscribedTrack } from "@sfu/shared/room-protocol";

interface Received {
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  rttMs: number | null;
  /**
   * The sender's NTP time (ms) of what plays out now, from the stream's RTP timestamps and the
   * sender reports' NTP/RTP mapping: audio and video of one participant in sync show the same. Null
   * until a sender report came.
   */
  estimatedPlayoutTimestamp: number | null;
  /** The stats' timestamp (ms). */
  at: number;
}
export interface ReceivedVideo extends Received {
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  fps: number;
  nackCount: number;
  freezeCount: number;
}
export interface ReceivedAudio extends Received {
  totalSamplesReceived: number;
  audioLevel: number;
}
/** What one remote participant's media looks like here (window.__sfu.remoteStats()). */
export interface RemoteStats {
  name: string;
  /** The camera. */
  video?: ReceivedVideo;
  /** A screen share. */
  screen?: ReceivedVideo;
  audio?: ReceivedAudio;
}

/** One simulcast encoding of our camera (window.__sfu.publisherStats()). */
export interface EncodingStats {
  rid: string;
  bytesSent: number;
  framesEncoded: number;
  frameWidth: number;
  active: boolean | undefined;
  qualityLimitationReason: RTCQualityLimitationReason | undefined;
}

/** A PeerConnection's selected candidate pair: candidate types (e.g. "relay") and the local protocol. */
export interface SelectedPair {
  local: string;
  remote: string;
  protocol: string;
}

/** The ICE candidate stats' fields read here (the DOM typings have no RTCIceCandidateStats). */
interface CandidateStats extends RTCStats {
  candidateType: string;
  protocol: string;
  relayProtocol?: string;
}

function entries(report: RTCStatsReport): RTCStats[] {
  const out: RTCStats[] = [];
  report.forEach((s: RTCStats) => out.push(s));
  return out;
}

function ofType(report: RTCStatsReport, type: "inbound-rtp"): RTCInboundRtpStreamStats[];
function ofType(report: RTCStatsReport, type: "outbound-rtp"): RTCOutboundRtpStreamStats[];
function ofType(report: RTCStatsReport, type: "candidate-pair"): RTCIceCandidatePairStats[];
function ofType(report: RTCStatsReport, type: "transport"): RTCTransportStats[];
function ofType(report: RTCStatsReport, type: RTCStatsType): RTCStats[] {
  return entries(report).filter((s) => s.type === type);
}

/**
 * Per remote participant (all of `participants` but ourselves): decoded video and received audio.
 * `subscribed` says which participant each of the subscriber's mids carries.
 */
export async function remoteStats(
  subscriber: RTCPeerConnection | null,
  participants: Iterable<{ id: string; name: string }>,
  subscribed: ReadonlyMap<string, SubscribedTrack>,
): Promise<Record<string, RemoteStats>> {
  const out: Record<string, RemoteStats> = {};
  for (const p of participants) out[p.id] = { name: p.name };
  if (!subscriber) return out;
  const report = await subscriber.getStats();
  let pair: RTCIceCandidatePairStats | undefined;
  for (const s of ofType(report, "candidate-pair")) if (s.nominated && s.state === "succeeded") pair = s;
  for (const s of ofType(report, "inbound-rtp")) {
    if (!s.mid) continue;
    const info = subscribed.get(s.mid);
    const entry = info && out[info.participantId];
    if (!entry) continue;
    const common: Received = {
      packetsReceived: s.packetsReceived ?? 0,
      packetsLost: s.packetsLost ?? 0,
      bytesReceived: s.bytesReceived ?? 0,
      rttMs: pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null,
      estimatedPlayoutTimestamp: s.estimatedPlayoutTimestamp ?? null,
      at: s.timestamp,
    };
    if (s.kind === "video") {
      entry[info.source === "screen" ? "screen" : "video"] = { ...common, framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth ?? 0, frameHeight: s.frameHeight ?? 0, fps: s.framesPerSecond ?? 0, nackCount: s.nackCount ?? 0, freezeCount: s.freezeCount ?? 0 };
    } else entry.audio = { ...common, totalSamplesReceived: s.totalSamplesReceived ?? 0, audioLevel: s.audioLevel ?? 0 };
  }
  return out;
}

/** The publisher's video encodings (one per simulcast layer), by rid. */
export async function publisherStats(publisher: RTCPeerConnection | null): Promise<EncodingStats[]> {
  if (!publisher) return [];
  const out: EncodingStats[] = [];
  for (const s of ofType(await publisher.getStats(), "outbound-rtp")) {
    if (s.kind !== "video") continue;
    out.push({ rid: s.rid ?? "", bytesSent: s.bytesSent ?? 0, framesEncoded: s.framesEncoded ?? 0, frameWidth: s.frameWidth ?? 0, active: s.active, qualityLimitationReason: s.qualityLimitationReason });
  }
  return out.sort((a, b) => a.rid.localeCompare(b.rid));
}

/** Each PeerConnection's selected candidate pair (null: none, or no such connection). */
export async function selectedCandidates(peers: Record<PcRole, RTCPeerConnection | null>): Promise<Record<PcRole, SelectedPair | null>> {
  const out: Record<PcRole, SelectedPair | null> = { publisher: null, subscriber: null };
  for (const role of ["publisher", "subscriber"] as const) {
    const pc = peers[role];
    if (!pc) continue;
    const report = await pc.getStats();
    let pair: RTCIceCandidatePairStats | undefined;
    for (const s of ofType(report, "transport")) if (s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
    const local: CandidateStats | undefined = pair && report.get(pair.localCandidateId);
    const remote: CandidateStats | undefined = pair && report.get(pair.remoteCandidateId);
    if (local && remote) out[role] = { local: local.candidateType, remote: remote.candidateType, protocol: local.relayProtocol ?? local.protocol };
  }
  return out;
}

/** A video receiver has waited this long for a decoded frame: it takes over whatever it shows. */
const DECODE_WAIT_MS = 3000;

/** Resolves once a video receiver has decoded a frame (its inbound-rtp stats), or after DECODE_WAIT_MS. */
export async function decoding(receiver: RTCRtpReceiver): Promise<void> {
  const deadline = performance.now() + DECODE_WAIT_MS;
  while (performance.now() < deadline) {
    const decoded = Math.max(0, ...ofType(await receiver.getStats(), "inbound-rtp").map((s) => s.framesDecoded ?? 0));
    if (decoded > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A tile's stats overlay: size, frame rate, bit rates (from the previous sample), loss and round trip. */
export class StatsText {
  readonly #previous = new Map<"video" | "audio", { bytes: number; at: number }>();

  of(s: RemoteStats): string {
    const lines: string[] = [];
    if (s.video) {
      const v = s.video;
      const kbps = this.#kbps("video", v.bytesReceived, v.at);
      const loss = v.packetsReceived + v.packetsLost > 0 ? (100 * v.packetsLost) / (v.packetsReceived + v.packetsLost) : 0;
      lines.push(`${v.frameWidth}×${v.frameHeight} ${Math.round(v.fps)}fps ${kbps}kbps`);
      lines.push(`loss ${loss.toFixed(1)}%${v.rttMs != null ? ` rtt ${Math.round(v.rttMs)}ms` : ""}`);
    }
    if (s.audio) lines.push(`audio ${this.#kbps("audio", s.audio.bytesReceived, s.audio.at)}kbps`);
    return lines.join("\n");
  }

  #kbps(kind: "video" | "audio", bytes: number, at: number): number {
    const prev = this.#previous.get(kind);
    this.#previous.set(kind, { bytes, at });
    return prev && at > prev.at ? Math.round(((bytes - prev.bytes) * 8) / (at - prev.at)) : 0;
  }
}
