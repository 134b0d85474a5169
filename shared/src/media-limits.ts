import type { TrackKind } from "./room-protocol.ts";

/**
 * What one participant may publish. A publish offer describes the participant's whole publisher
 * PeerConnection (renegotiations included), so the caps on one offer are also the caps per
 * participant. The app sends one audio and one video track (three simulcast layers); the second
 * of each kind leaves room for a screen share. mediasoup and LiveKit cap the same things.
 */
export interface MediaLimits {
  /** m-sections of any kind and direction: each costs the node a transceiver. */
  sections: number;
  /** Sending m-sections (tracks) per kind. */
  tracks: Record<TrackKind, number>;
  /** Simulcast layers (a=rid) per m-section: each costs the node a receive stream. */
  rids: number;
}

export const MEDIA_LIMITS: MediaLimits = { sections: 8, tracks: { audio: 2, video: 2 }, rids: 3 };

/** What a cap needs to know of one m-section. */
export interface MediaSection {
  kind: string;
  /** The offerer sends on it (sendonly or sendrecv): it becomes a track. */
  sending: boolean;
  /** Simulcast layers it declares: the larger of its a=rid lines and its a=simulcast entries. */
  rids: number;
}

const DIRECTIONS = new Set(["sendrecv", "sendonly", "recvonly", "inactive"]);

/**
 * The SDP's m-sections by a scan of its lines, without a full parse; it stops at the m-section
 * after `stopAfter` of them, so reading a bomb of hundreds costs no more than the cap.
 */
export function scanMediaSections(sdp: string, stopAfter = Number.POSITIVE_INFINITY): MediaSection[] {
  const sections: Array<MediaSection & { direction?: string }> = [];
  let sessionDirection = "sendrecv";
  for (const raw of sdp.split("\n")) {
    const line = raw.trimEnd();
    const current = sections.at(-1);
    if (line.startsWith("m=")) {
      if (sections.length >= stopAfter) break;
      sections.push({ kind: line.slice(2).split(" ", 1)[0]!.toLowerCase(), sending: false, rids: 0 });
    } else if (line.startsWith("a=") && DIRECTIONS.has(line.slice(2))) {
      if (current) current.direction = line.slice(2);
      else sessionDirection = line.slice(2);
    } else if (current && line.startsWith("a=rid:")) {
      current.rids++;
    } else if (current && line.startsWith("a=simulcast:")) {
      current.rids = Math.max(current.rids, simulcastEntries(line.slice("a=simulcast:".length)));
    }
  }
  return sections.map(({ direction, ...s }) => {
    const d = direction ?? sessionDirection;
    return { ...s, sending: d === "sendonly" || d === "sendrecv" };
  });
}

/** Layers named in an a=simulcast value, e.g. "send q;h;f" → 3 (alternatives "1,2" and both directions count). */
function simulcastEntries(value: string): number {
  const words = value.trim().split(/\s+/);
  let n = 0;
  for (let i = 1; i < words.length; i += 2) n += words[i]!.split(/[;,]/).filter(Boolean).length;
  return n;
}

/** Why a publish offer is over `limits`, in plain words; null when it is within them. */
export function publishOfferOverLimits(sdp: string, limits: MediaLimits = MEDIA_LIMITS): string | null {
  const sections = scanMediaSections(sdp, limits.sections + 1);
  if (sections.length > limits.sections) return `an offer may carry at most ${limits.sections} media sections`;
  for (const kind of ["audio", "video"] as const) {
    const sending = sections.filter((s) => s.sending && s.kind === kind).length;
    if (sending > limits.tracks[kind]) return `a participant may publish at most ${limits.tracks[kind]} ${kind} tracks (the offer has ${sending})`;
  }
  const layered = sections.find((s) => s.rids > limits.rids);
  if (layered) return `a track may have at most ${limits.rids} simulcast layers (the offer has ${layered.rids})`;
  return null;
}
