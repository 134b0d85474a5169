import * as z from "zod";

/** Version of the browser ↔ room protocol. Every message carries it; a mismatch is a typed error. */
export const ROOM_PROTOCOL_VERSION = 1;
/** Largest signaling message the room accepts (an SDP offer with many m-lines stays well below). */
export const MAX_SIGNAL_BYTES = 64 * 1024;
/**
 * Messages per second per socket: a token bucket refilled at SIGNAL_RATE_PER_S and holding
 * SIGNAL_BURST. A joining browser sends a few dozen messages at once (join, publish, ICE candidates,
 * a subscriber answer, tile sizes) and then a few per minute; a message over the rate gets
 * `rate-limited` and has no effect.
 */
export const SIGNAL_RATE_PER_S = 20;
export const SIGNAL_BURST = 50;
/**
 * A socket that sends MAX_BAD_FRAMES bad frames (malformed, oversized, or over the rate) within
 * BAD_FRAME_WINDOW_MS of the first of them is closed with CloseCode.policyViolation.
 */
export const MAX_BAD_FRAMES = 20;
export const BAD_FRAME_WINDOW_MS = 10_000;
/** Most participants in one room unless MAX_PARTICIPANTS_PER_ROOM says otherwise; a join beyond gets `room-full`. */
export const DEFAULT_MAX_PARTICIPANTS_PER_ROOM = 100;

/**
 * Chat goes through the room: a message is at most MAX_CHAT_CHARS characters; the room keeps the
 * last MAX_CHAT_HISTORY for those who join later (while the room lives; an emptied room forgets
 * them), and each participant may post CHAT_BURST at once, then CHAT_RATE_PER_S a second.
 */
export const MAX_CHAT_CHARS = 1000;
export const MAX_CHAT_HISTORY = 200;
export const CHAT_RATE_PER_S = 1;
export const CHAT_BURST = 5;

const v = z.literal(ROOM_PROTOCOL_VERSION);

export const RoomName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "room names are 1-64 of A-Z a-z 0-9 _ -");
export const DisplayName = z.string().trim().min(1).max(64);
export const Sdp = z.string().min(1).max(MAX_SIGNAL_BYTES);
export const TrackKind = z.enum(["audio", "video"]);
export type TrackKind = z.infer<typeof TrackKind>;
export const PcRole = z.enum(["publisher", "subscriber"]);
export type PcRole = z.infer<typeof PcRole>;

export const IceCandidate = z.object({
  candidate: z.string().max(1024),
  sdpMid: z.string().max(64).nullish(),
  sdpMLineIndex: z.number().int().min(0).max(1024).nullish(),
});
export type IceCandidate = z.infer<typeof IceCandidate>;

/**
 * What a track carries: a participant's camera and microphone, or a screen share (a second video
 * track, shown large). Records from before screen sharing have none: camera or microphone by kind.
 */
export const TrackSource = z.enum(["camera", "microphone", "screen"]);
export type TrackSource = z.infer<typeof TrackSource>;

/** A track's source, for records that predate it too. */
export function sourceOf(track: { kind: TrackKind; source?: TrackSource | undefined }): TrackSource {
  return track.source ?? (track.kind === "audio" ? "microphone" : "camera");
}

export const TrackInfo = z.object({
  id: z.string(),
  kind: TrackKind,
  muted: z.boolean(),
  source: TrackSource.optional(),
});
export type TrackInfo = z.infer<typeof TrackInfo>;

export const ParticipantInfo = z.object({
  id: z.string(),
  name: z.string(),
  tracks: z.array(TrackInfo),
});
export type ParticipantInfo = z.infer<typeof ParticipantInfo>;

/**
 * An ICE server for the browser's RTCPeerConnections (RTCIceServer's shape with `urls` always a
 * list): TURN with time-limited credentials (see turn.ts), or STUN without any.
 */
export const IceServerUrl = z.string().max(256).regex(/^(?:turns?|stun):[^\s,]+$/, "ICE server URLs are turn:, turns: or stun: URIs");
export const IceServer = z.object({
  urls: z.array(IceServerUrl).min(1).max(8),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional(),
});
export type IceServer = z.infer<typeof IceServer>;

/** Which remote track a subscriber-side m-line (mid) carries. */
export const SubscribedTrack = z.object({
  mid: z.string(),
  trackId: z.string(),
  participantId: z.string(),
  kind: TrackKind,
  /** Set by the room (the node does not know it). */
  source: TrackSource.optional(),
});
export type SubscribedTrack = z.infer<typeof SubscribedTrack>;

/** Largest tile side (device pixels) a subscriber may report, and most tracks in one report. */
export const MAX_TILE_PX = 16384;
export const MAX_PREFS_TRACKS = 64;
/**
 * How large a subscriber renders one remote video track (CSS px × devicePixelRatio, rounded);
 * 0×0 = not visible. The node forwards the smallest simulcast layer that covers it.
 */
export const TrackPreference = z.object({
  trackId: z.string().min(1).max(128),
  width: z.number().int().min(0).max(MAX_TILE_PX),
  height: z.number().int().min(0).max(MAX_TILE_PX),
});
export type TrackPreference = z.infer<typeof TrackPreference>;
export const ChatText = z.string().trim().min(1, "a chat message cannot be empty").max(MAX_CHAT_CHARS, `a chat message is at most ${MAX_CHAT_CHARS} characters`);
/** A chat message as the room keeps and sends it: who sent it (id and name then), and when (ms since the epoch, the room's clock). */
export const ChatMessage = z.object({
  id: z.string(),
  from: z.string(),
  name: z.string(),
  text: z.string(),
  at: z.number(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** An m-section's identifier (a=mid) as browsers write them. */
export const Mid = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);
/** Screen shares one participant may send at once (the rest of MEDIA_LIMITS' video tracks is the camera). */
export const MAX_SCREEN_SHARES = 1;

/** A simulcast layer's RTP stream id (a=rid), e.g. "q", "h", "f"; "" for a track sent without simulcast. */
export const Rid = z.string().regex(/^[A-Za-z0-9_-]{0,16}$/);

// ---- browser → room ----
export const ClientMessage = z.discriminatedUnion("type", [
  z.object({ v, type: z.literal("join"), name: DisplayName }),
  /** A publisher offer, first or renegotiated; `screen` lists the mids of its m-sections that carry a screen share. */
  z.object({ v, type: z.literal("publish"), sdp: Sdp, screen: z.array(Mid).max(MAX_SCREEN_SHARES).optional() }),
  z.object({ v, type: z.literal("subscriber-answer"), sdp: Sdp }),
  z.object({ v, type: z.literal("ice-candidate"), target: PcRole, candidate: IceCandidate }),
  z.object({ v, type: z.literal("set-muted"), kind: TrackKind, muted: z.boolean() }),
  z.object({ v, type: z.literal("leave") }),
  /** After a dropped socket: take the participant back (same id, tracks and media) within the grace period. */
  z.object({ v, type: z.literal("resume"), participantId: z.string().min(1).max(64), secret: z.string().min(1).max(128) }),
  /** One of the participant's PeerConnections failed: the room frees both and has it publish again. */
  z.object({ v, type: z.literal("restart-media") }),
  /** Rendered sizes of remote video tiles (changed ones only; 0×0 when hidden or removed). */
  z.object({ v, type: z.literal("subscription-prefs"), tracks: z.array(TrackPreference).min(1).max(MAX_PREFS_TRACKS) }),
  /** A chat message to everyone in the room (see MAX_CHAT_CHARS, CHAT_RATE_PER_S). */
  z.object({ v, type: z.literal("chat"), text: ChatText }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

// ---- room → browser ----
export const ErrorCode = z.enum([
  "bad-message",
  "unsupported-version",
  "message-too-large",
  "not-joined",
  /** The participant's token does not grant this (e.g. publishing without canPublish). */
  "forbidden",
  "already-joined",
  /** The participant to resume is gone (grace period over) or the secret does not match: join afresh. */
  "resume-failed",
  "no-media-node",
  "media-node-error",
  /** The participant's media connection failed and was torn down; publish again to recover. */
  "media-failed",
  /**
   * The room moved to another media node while the old one still forwards (a drain): publish again
   * there; the old connections keep carrying media until the new ones do.
   */
  "media-moved",
  /** More messages than the socket's rate allows (SIGNAL_RATE_PER_S), or chat messages than CHAT_RATE_PER_S: this one was dropped. */
  "rate-limited",
  /** The room holds its most participants (MAX_PARTICIPANTS_PER_ROOM): nobody joined. */
  "room-full",
  /** A publish offer over the media limits (m-sections, tracks per kind, simulcast layers; see MEDIA_LIMITS): nothing was published. */
  "too-many-tracks",
  /** A PeerConnection sent more distinct ICE candidates than MAX_CANDIDATES_PER_PC: this one was not used. */
  "too-many-candidates",
  "internal",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ServerMessage = z.discriminatedUnion("type", [
  z.object({
    v,
    type: z.literal("joined"),
    room: z.string(),
    participantId: z.string(),
    participants: z.array(ParticipantInfo),
    /** Presented in `resume` to take this participant back on a new socket. */
    resumeSecret: z.string(),
    resumed: z.boolean(),
    /**
     * For both PeerConnections (empty when the deployment has no TURN server). TURN credentials are
     * fresh on every `joined`, including a resume's, and last TURN_TTL_S (default 24 h).
     */
    iceServers: z.array(IceServer).max(4),
  }),
  z.object({ v, type: z.literal("participant-joined"), participant: ParticipantInfo }),
  z.object({ v, type: z.literal("participant-updated"), participant: ParticipantInfo }),
  z.object({ v, type: z.literal("participant-left"), participantId: z.string() }),
  /** Who is speaking now (server-side, from audio levels); null when nobody is. */
  z.object({ v, type: z.literal("active-speaker"), participantId: z.string().nullable() }),
  /** An admin muted this participant's track: the app stops sending it (the node drops it anyway). */
  z.object({ v, type: z.literal("force-mute"), kind: TrackKind }),
  z.object({ v, type: z.literal("publish-answer"), sdp: Sdp }),
  /**
   * Dynacast: which simulcast layers (rids) of this participant's track someone receives. The app
   * keeps those encodings active and pauses the others.
   */
  z.object({ v, type: z.literal("publish-layers"), trackId: z.string(), rids: z.array(Rid).max(8) }),
  z.object({ v, type: z.literal("subscriber-offer"), sdp: Sdp, tracks: z.array(SubscribedTrack) }),
  /** Someone (the recipient too: this is its confirmation) posted to the room's chat. */
  z.object({ v, type: z.literal("chat"), message: ChatMessage }),
  /** Right after `joined`, when the room has any: the chat so far, oldest first. */
  z.object({ v, type: z.literal("chat-history"), messages: z.array(ChatMessage).max(MAX_CHAT_HISTORY) }),
  z.object({
    v,
    type: z.literal("error"),
    code: ErrorCode,
    message: z.string(),
    /** The `type` of the client message that caused it, when known. */
    inReplyTo: z.string().optional(),
  }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/** WebSocket close codes the room uses (4000-4999 is the application range). */
export const CloseCode = {
  normal: 1000,
  protocolError: 4000,
  unsupportedVersion: 4001,
  replaced: 4002,
  roomClosed: 4003,
  kicked: 4004,
  /** Too many bad frames (malformed, oversized, over the rate): the participant is removed. */
  policyViolation: 4008,
  /** The same identity joined again on another connection, which replaced this one (as LiveKit does). */
  identityReplaced: 4009,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ServerMessageBody = DistributiveOmit<ServerMessage, "v">;
export type ClientMessageBody = DistributiveOmit<ClientMessage, "v">;

export function serverMessage(body: ServerMessageBody): ServerMessage {
  return { v: ROOM_PROTOCOL_VERSION, ...body } as ServerMessage;
}
export function clientMessage(body: ClientMessageBody): ClientMessage {
  return { v: ROOM_PROTOCOL_VERSION, ...body } as ClientMessage;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string; inReplyTo?: string };

const utf8 = new TextEncoder();

/** A message's size on the wire, in UTF-8 bytes (`string.length` counts UTF-16 units, up to 3x fewer). */
export function wireBytes(raw: string | ArrayBuffer): number {
  return typeof raw === "string" ? utf8.encode(raw).byteLength : raw.byteLength;
}

/** "<what> at <path>: <reason>", from the first issue zod found. */
export function describeIssue(what: string, error: z.ZodError): string {
  const issue = error.issues[0];
  return `${what}${issue?.path.length ? ` at ${issue.path.join(".")}` : ""}: ${issue?.message ?? "invalid"}`;
}

/** Parses one raw signaling frame from a browser; never throws. */
export function parseClientMessage(raw: string | ArrayBuffer): ParseResult<ClientMessage> {
  const size = wireBytes(raw);
  if (size > MAX_SIGNAL_BYTES) {
    return { ok: false, code: "message-too-large", message: `message of ${size} bytes exceeds ${MAX_SIGNAL_BYTES}` };
  }
  if (typeof raw !== "string") return { ok: false, code: "bad-message", message: "binary frames are not accepted" };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, code: "bad-message", message: "message is not valid JSON" };
  }
  const inReplyTo = typeof json === "object" && json !== null && typeof (json as { type?: unknown }).type === "string"
    ? String((json as { type: string }).type).slice(0, 64)
    : undefined;
  if (typeof json === "object" && json !== null && "v" in json && (json as { v: unknown }).v !== ROOM_PROTOCOL_VERSION) {
    return {
      ok: false,
      code: "unsupported-version",
      message: `protocol version ${String((json as { v: unknown }).v)} is not supported; this server speaks v${ROOM_PROTOCOL_VERSION}`,
      inReplyTo,
    };
  }
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) return { ok: false, code: "bad-message", message: describeIssue("invalid message", parsed.error), inReplyTo };
  return { ok: true, value: parsed.data };
}

/**
 * Whether a browser's ICE candidate is worth sending to the media node: not empty, UDP (the node has
 * no ICE-TCP), and not an mDNS (.local) host, which the node cannot resolve (its connectivity checks
 * reach the node anyway and are learned as peer-reflexive).
 */
export function isForwardableCandidate(candidate: string): boolean {
  const parts = candidate.replace(/^a=/, "").split(" ");
  return parts.length >= 8 && parts[2]?.toLowerCase() === "udp" && !parts[4]!.toLowerCase().endsWith(".local");
}

export function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
