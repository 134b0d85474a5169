/** What the room's core (core.ts) works on and answers with: its records, connections and effects. */
import type { FrameAllowance } from "./frame-allowance.ts";
import { CloseCode, type ChatMessage, type ErrorCode, type Grants, type NodeErrorCode, type IceServer, type ParticipantInfo, type RoomTokenClaims, type ServerMessageBody, type TrackKind } from "@sfu/shared";

/** The media node a room is placed on. */
export interface PlacedNode {
  id: string;
}

export interface RoomRecord {
  name: string;
  node: PlacedNode | null;
}

export interface ParticipantRecord extends ParticipantInfo {
  identity: string;
  grants: Grants;
  joinedAt: number;
  resumeSecret: string;
  /** When its socket dropped; it is removed once the resume grace period has passed. */
  disconnectedAt: number | null;
  /** Kinds an admin muted: the participant cannot unmute them, and they stay muted across re-publishes. */
  adminMuted?: TrackKind[];
}

/** What storage holds for a room. */
export interface StoredRoom {
  room: RoomRecord | null;
  participants: ParticipantRecord[];
  /** The chat history, in any order (ChatLog orders it). */
  chat?: ChatMessage[];
}

/** A browser's connection to the room, as its socket carries it (and as it survives hibernation). */
export interface Connection {
  /** Names the connection, and its lane until it has joined (RoomLock). */
  connectionId: string;
  participantId: string | null;
  claims: RoomTokenClaims;
  /** The caller's region: a room is placed near whoever joins it first. */
  region?: string;
  /** What the socket may still send (absent until its first message). */
  allowance?: FrameAllowance;
}

/** Connected participants: participant id → id of the connection it speaks on. */
export type Connected = ReadonlyMap<string, string>;

export interface Close {
  code: CloseCode;
  reason: string;
}

export const LEFT: Close = { code: CloseCode.normal, reason: "left" };
export const KICKED: Close = { code: CloseCode.kicked, reason: "removed by an admin" };
export const ROOM_CLOSED: Close = { code: CloseCode.roomClosed, reason: "the room was closed" };
export const REPLACED: Close = { code: CloseCode.replaced, reason: "resumed on another connection" };
export const ABUSIVE: Close = { code: CloseCode.policyViolation, reason: "too many bad messages" };
export const IDENTITY_REPLACED: Close = { code: CloseCode.identityReplaced, reason: "joined again on another connection" };
export const UNSUPPORTED_VERSION: Close = { code: CloseCode.unsupportedVersion, reason: "unsupported protocol version" };

export type Effect =
  | { type: "send"; connection: string; message: ServerMessageBody }
  /** To every connected participant (but `except`), whoever is connected when it is sent. */
  | { type: "broadcast"; message: ServerMessageBody; except?: string }
  /** Makes a connection speak for a participant, or for nobody. */
  | { type: "bind"; connection: string; participantId: string | null }
  | ({ type: "close"; connection: string } & Close)
  | { type: "store-room"; room: RoomRecord }
  | { type: "store-participant"; participant: ParticipantRecord }
  | { type: "delete-participant"; participantId: string }
  /** A chat message to keep, and those that fell off the history. */
  | { type: "store-chat"; message: ChatMessage; evicted: ChatMessage[] }
  | { type: "set-alarm"; at: number }
  /** Frees a participant's media on a node; `background`: the room does not wait for it. */
  | { type: "free-on-node"; node: PlacedNode; participantId: string; background: boolean }
  /** Tells the registry the room no longer needs `node`. */
  | { type: "release-node"; node: PlacedNode }
  /** Asks the node for fresh subscriber offers (see `subscribers`, `subscriberOffered`). */
  | { type: "offer-subscriptions"; participantIds: string[] }
  /** The room left `node`, which keeps forwarding until the publishers have republished elsewhere (RetiringNode). */
  | { type: "retire-node"; node: PlacedNode; participantIds: string[]; publisherIds: string[] }
  /** News for the retiring node, if there is one. */
  | { type: "retiring-republished" | "retiring-left"; participantId: string };

export class RoomError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A media node's refusal, as a browser hears it: plain words per node error code. What the node
 * said (which may name paths, node ids or library errors) stays in the worker's log.
 */
export interface NodeRefusal {
  code: NodeErrorCode;
  plainWords: string;
}

const NODE_REFUSALS: Partial<Record<NodeErrorCode, string>> = {
  "bad-request": "the media server could not use that request",
  "not-found": "the media server does not know this connection; publish again",
  "unsupported-version": "the media server runs another version; try again shortly",
  "payload-too-large": "that request is too large for the media server",
  "negotiation-failed": "the media server could not use that offer or answer",
  "over-capacity": "the media server is full; try again shortly",
  "too-many-tracks": "that is more cameras, microphones or quality layers than a participant may send",
  "too-many-candidates": "the connection sent more network addresses than allowed",
  timeout: "the media server did not answer in time; try again",
  unreachable: "the media server cannot be reached; try again shortly",
};

export function nodeRefusal(code: NodeErrorCode): NodeRefusal {
  return { code, plainWords: NODE_REFUSALS[code] ?? "the media server could not do that; try again" };
}

export interface RoomSummary {
  room: string;
  node: PlacedNode | null;
  participants: Array<ParticipantInfo & { identity: string; connected: boolean }>;
}

/** A participant to create on `join`: ids and secrets are made by the shell. */
export interface Joiner {
  id: string;
  name: string;
  resumeSecret: string;
  iceServers: IceServer[];
}
