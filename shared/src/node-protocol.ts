import { z } from "zod";
import { describeIssue, IceCandidate, MAX_PREFS_TRACKS, PcRole, Rid, RoomName, Sdp, SubscribedTrack, TrackKind, TrackPreference, wireBytes } from "./room-protocol.ts";

/**
 * The worker ↔ media-node protocol. A node dials out: it opens one WebSocket to the edge at
 * NODE_CONNECT_PATH, proving who it is with a signed header (node-proof.ts), and everything travels
 * over that socket as JSON: the edge's requests (one table, NodeActions, with a request and a
 * response schema per action) answered by id, and the node's events.
 */
export const NODE_PROTOCOL_VERSION = 3;
export const NODE_CONNECT_PATH = "/nodes/connect";
/** Largest message either side accepts on the node socket. */
export const MAX_NODE_MESSAGE_BYTES = 128 * 1024;
/** How long the edge waits for the node to answer a request. */
export const NODE_CALL_TIMEOUT_MS = 10_000;

export const NodeId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);
/** Random per node process: a node that reconnects with another one was restarted and holds no media. */
export const InstanceId = z.string().regex(/^[A-Za-z0-9-]{8,64}$/);
export const ParticipantId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
/** A placement region: a node's REGION, or where a caller is. */
export const Region = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "a region is 1-32 of A-Z a-z 0-9 _ -");

export const NodeLoad = z.object({
  rooms: z.number().int().min(0),
  participants: z.number().int().min(0),
  tracks: z.number().int().min(0),
  /** Share of one core used by the node process since the previous heartbeat, 0..n (n cores). */
  cpu: z.number().min(0).max(1024),
});
export type NodeLoad = z.infer<typeof NodeLoad>;

/** Most participant ids in one inventory entry; a larger room takes several entries. */
export const MAX_INVENTORY_PARTICIPANTS = 1000;
/** Most entries in one inventory event; a node holding more sends several events. */
export const MAX_INVENTORY_ROOMS = 1000;

/** Part of a node's inventory: participants it holds media for in one room (possibly none). */
export const HeldRoom = z.object({ room: RoomName, participants: z.array(ParticipantId).max(MAX_INVENTORY_PARTICIPANTS) });
export type HeldRoom = z.infer<typeof HeldRoom>;

// ---- the edge's requests: action → request, response ----

const Target = { room: RoomName, participantId: ParticipantId };
const Empty = z.object({}).strict();

export const PublishedTrack = z.object({ trackId: z.string().max(128), mid: z.string().max(64), kind: TrackKind });
export type PublishedTrack = z.infer<typeof PublishedTrack>;

/**
 * The subscriber PeerConnection is offered by the node. `offer` carries a new offer; `pending` means an
 * offer is already out and the node will include the change in the reply to its answer; `unchanged`
 * means there is nothing to negotiate.
 */
export const SubscriberOffer = z.object({ status: z.literal("offer"), sdp: Sdp, tracks: z.array(SubscribedTrack) });
export type SubscriberOffer = z.infer<typeof SubscriberOffer>;

export const NodeActions = {
  /** The participant's publisher offer; the node answers it and lists the tracks it will forward. */
  publish: {
    request: z.object({ ...Target, sdp: Sdp }),
    response: z.object({ sdp: Sdp, tracks: z.array(PublishedTrack) }),
  },
  /** Bring the participant's subscriber PeerConnection up to date with the room's tracks. */
  "subscriber-offer": {
    request: z.object(Target),
    response: z.discriminatedUnion("status", [SubscriberOffer, z.object({ status: z.literal("pending") }), z.object({ status: z.literal("unchanged") })]),
  },
  /** The browser's answer to the last subscriber offer; `next` folds in changes made meanwhile. */
  "subscriber-answer": {
    request: z.object({ ...Target, sdp: Sdp }),
    response: z.object({ next: SubscriberOffer.optional() }),
  },
  candidate: {
    request: z.object({ ...Target, target: PcRole, candidate: IceCandidate }),
    response: Empty,
  },
  /** Stop (or resume) forwarding a participant's tracks of one kind, whatever its browser does. */
  mute: {
    request: z.object({ ...Target, kind: TrackKind, muted: z.boolean() }),
    response: Empty,
  },
  /** A subscriber's rendered tile sizes for the tracks it receives (see TrackPreference). */
  preferences: {
    request: z.object({ ...Target, tracks: z.array(TrackPreference).min(1).max(MAX_PREFS_TRACKS) }),
    response: Empty,
  },
  /** Frees the participant's PeerConnections and tracks. */
  remove: {
    request: z.object(Target),
    response: z.object({ removedTracks: z.array(z.string().max(128)).max(1024) }),
  },
  /** Frees a whole room the edge does not place here (an orphan its inventory showed); `closed` is false if it held none. */
  "close-room": {
    request: z.object({ room: RoomName }),
    response: z.object({ closed: z.boolean() }),
  },
  /** Test-only (nodes started with DEBUG_IMPAIRMENT=1): make the link to one subscriber narrow or lossy. */
  impair: {
    request: z.object({
      ...Target,
      kbps: z.number().int().min(16).max(1_000_000).optional(),
      lossPercent: z.number().min(0).max(100).optional(),
    }),
    response: Empty,
  },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export type NodeAction = keyof typeof NodeActions;
export const NodeActionName = z.enum(Object.keys(NodeActions) as [NodeAction, ...NodeAction[]]);
export type NodeRequest<A extends NodeAction> = z.infer<(typeof NodeActions)[A]["request"]>;
export type NodeResponse<A extends NodeAction> = z.infer<(typeof NodeActions)[A]["response"]>;

/** Why a request failed: the node's own verdicts, plus `timeout` and `unreachable` from the edge's side. */
export const NodeErrorCode = z.enum([
  "bad-request",
  "not-found",
  "unsupported-version",
  "payload-too-large",
  "negotiation-failed",
  "over-capacity",
  /** The publish offer is over the node's media limits (the edge refuses those first). */
  "too-many-tracks",
  /** The PeerConnection already took its most remote candidates. */
  "too-many-candidates",
  "internal",
  "timeout",
  "unreachable",
]);
export type NodeErrorCode = z.infer<typeof NodeErrorCode>;

// ---- the node's events (the node id is the socket's, never a field) ----

export const NodeEvent = z.discriminatedUnion("type", [
  /** Every HEARTBEAT_MS: the node is alive, and its load. */
  z.object({ type: z.literal("heartbeat"), load: NodeLoad }),
  /** The participant's PeerConnections failed; the node has freed them and their tracks. */
  z.object({ type: z.literal("participant-failed"), room: RoomName, participantId: ParticipantId }),
  /** The room's loudest participant changed; null when nobody is speaking. */
  z.object({ type: z.literal("active-speaker"), room: RoomName, participantId: ParticipantId.nullable() }),
  /** Dynacast: the simulcast layers of a published track that some subscriber needs changed. */
  z.object({
    type: z.literal("layer-demand"),
    room: RoomName,
    participantId: ParticipantId,
    trackId: z.string().min(1).max(128),
    rids: z.array(Rid).max(8),
  }),
  /** The node is shutting down (SIGTERM): take no new rooms there and move its rooms away. */
  z.object({ type: z.literal("drain") }),
  /**
   * Every INVENTORY_MS (and once welcomed): what the node holds, in one or more events. The edge
   * frees what it no longer places here (orphans: e.g. a removal that never reached the node).
   */
  z.object({ type: z.literal("inventory"), rooms: z.array(HeldRoom).max(MAX_INVENTORY_ROOMS) }),
]);
export type NodeEvent = z.infer<typeof NodeEvent>;

// ---- envelopes ----

/** First message on a fresh socket: what the node is. */
export const NodeHello = z.object({
  type: z.literal("hello"),
  version: z.number().int(),
  region: Region,
  /** Most participants the node accepts. */
  capacity: z.number().int().min(1).max(100_000),
  load: NodeLoad,
  /** Rooms the node holds media for (it may have kept them across a dropped socket). */
  rooms: z.array(RoomName).max(100_000),
});
export type NodeHello = z.infer<typeof NodeHello>;

export const NodeToEdge = z.discriminatedUnion("type", [
  NodeHello,
  z.object({ type: z.literal("event"), event: NodeEvent }),
  z.object({ type: z.literal("result"), id: z.number().int().min(0), body: z.unknown() }),
  z.object({ type: z.literal("error"), id: z.number().int().min(0), code: NodeErrorCode, message: z.string().max(1024) }),
]);
export type NodeToEdge = z.infer<typeof NodeToEdge>;

export const EdgeToNode = z.discriminatedUnion("type", [
  /**
   * Answer to hello. `keepRooms` lists the rooms the edge still places on this node; the node frees
   * every other room it holds (they moved while it was away).
   */
  z.object({ type: z.literal("welcome"), keepRooms: z.array(RoomName).max(100_000), heartbeatMs: z.number().int().min(100).max(60_000) }),
  z.object({ type: z.literal("request"), id: z.number().int().min(0), action: NodeActionName, body: z.unknown() }),
  /** Answer to each heartbeat, so the node can tell a dead socket from a quiet one. */
  z.object({ type: z.literal("heartbeat-ack") }),
]);
export type EdgeToNode = z.infer<typeof EdgeToNode>;

/** Close codes on the node socket: a closed set. */
export const NodeCloseCode = {
  normal: 1000,
  /** Another socket authenticated for the same node id; this one is superseded. */
  replaced: 4000,
  /** A message broke the protocol (bad JSON, unknown type, too large). */
  protocolError: 4001,
  /** The node missed its heartbeats. */
  silent: 4002,
  /** The node speaks another protocol version. */
  unsupportedVersion: 4003,
} as const;
export type NodeCloseCode = (typeof NodeCloseCode)[keyof typeof NodeCloseCode];

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Parses one socket message against an envelope schema, refusing oversized or non-JSON text. */
export function parseNodeMessage<S extends z.ZodType>(schema: S, raw: unknown): Parsed<z.infer<S>> {
  if (typeof raw !== "string") return { ok: false, message: "binary messages are not part of the protocol" };
  if (wireBytes(raw) > MAX_NODE_MESSAGE_BYTES) return { ok: false, message: `message exceeds ${MAX_NODE_MESSAGE_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, message: "message is not JSON" };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: describeIssue("invalid message", parsed.error) };
}
