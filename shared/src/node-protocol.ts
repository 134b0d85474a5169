import { z } from "zod";
import { IceCandidate, MAX_PREFS_TRACKS, PcRole, Rid, RoomName, Sdp, SubscribedTrack, TrackKind, TrackPreference } from "./room-protocol.ts";

/** Version of the worker ↔ media-node control protocol, sent as the `x-sfu-control-version` header. */
export const CONTROL_PROTOCOL_VERSION = 1;
export const MAX_CONTROL_BYTES = 128 * 1024;

export const NodeId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);

export const NodeLoad = z.object({
  rooms: z.number().int().min(0),
  participants: z.number().int().min(0),
  tracks: z.number().int().min(0),
  /** Share of one core used by the node process since the previous heartbeat, 0..n (n cores). */
  cpu: z.number().min(0).max(1024),
});
export type NodeLoad = z.infer<typeof NodeLoad>;

// ---- media node → worker ----
export const NodeRegistration = z.object({
  nodeId: NodeId,
  /** Base URL of the node's control API, as the worker reaches it. */
  url: z.url({ protocol: /^https?$/ }),
  region: z.string().min(1).max(32),
  /** Most participants the node accepts. */
  capacity: z.number().int().min(1).max(100_000),
  load: NodeLoad,
});
export type NodeRegistration = z.infer<typeof NodeRegistration>;

export const NodeHeartbeat = z.object({ nodeId: NodeId, load: NodeLoad });
export type NodeHeartbeat = z.infer<typeof NodeHeartbeat>;

/** Reply to register and heartbeat; `known: false` tells a node to register again (e.g. registry reset). */
export const NodeAck = z.object({ ok: z.literal(true), known: z.boolean() });
export type NodeAck = z.infer<typeof NodeAck>;

/** Something the node saw happen to a room's participant, reported to the room. */
export const NodeEvent = z.discriminatedUnion("type", [
  /** The participant's PeerConnections failed; the node has freed them and their tracks. */
  z.object({ type: z.literal("participant-failed"), nodeId: NodeId, room: RoomName, participantId: z.string().min(1).max(64) }),
  /** The room's loudest participant changed; null when nobody is speaking. */
  z.object({ type: z.literal("active-speaker"), nodeId: NodeId, room: RoomName, participantId: z.string().min(1).max(64).nullable() }),
  /** Dynacast: the simulcast layers of a published track that some subscriber needs changed. */
  z.object({
    type: z.literal("layer-demand"),
    nodeId: NodeId,
    room: RoomName,
    participantId: z.string().min(1).max(64),
    trackId: z.string().min(1).max(128),
    rids: z.array(Rid).max(8),
  }),
]);
export type NodeEvent = z.infer<typeof NodeEvent>;

// ---- worker → media node (control API, one request per call) ----
export const PublishRequest = z.object({ sdp: Sdp });
export const PublishedTrack = z.object({ trackId: z.string(), mid: z.string(), kind: TrackKind });
export type PublishedTrack = z.infer<typeof PublishedTrack>;
export const PublishResponse = z.object({ sdp: Sdp, tracks: z.array(PublishedTrack) });
export type PublishResponse = z.infer<typeof PublishResponse>;

/**
 * The subscriber PeerConnection is offered by the node. `offer` carries a new offer; `pending` means an
 * offer is already out and the node will include the change in the reply to its answer; `unchanged`
 * means there is nothing to negotiate.
 */
export const SubscriberOffer = z.object({ status: z.literal("offer"), sdp: Sdp, tracks: z.array(SubscribedTrack) });
export type SubscriberOffer = z.infer<typeof SubscriberOffer>;
export const SubscriberOfferResponse = z.discriminatedUnion("status", [
  SubscriberOffer,
  z.object({ status: z.literal("pending") }),
  z.object({ status: z.literal("unchanged") }),
]);
export type SubscriberOfferResponse = z.infer<typeof SubscriberOfferResponse>;
export const SubscriberAnswerRequest = z.object({ sdp: Sdp });
export const SubscriberAnswerResponse = z.object({ next: SubscriberOffer.optional() });
export type SubscriberAnswerResponse = z.infer<typeof SubscriberAnswerResponse>;
export const CandidateRequest = z.object({ target: PcRole, candidate: IceCandidate });
export type CandidateRequest = z.infer<typeof CandidateRequest>;
/** Stop (or resume) forwarding a participant's tracks of one kind, whatever its browser does. */
/** Test-only (nodes started with DEBUG_IMPAIRMENT=1): make the link to one subscriber narrow or lossy. */
export const ImpairRequest = z.object({
  kbps: z.number().int().min(16).max(1_000_000).optional(),
  lossPercent: z.number().min(0).max(100).optional(),
});
export type ImpairRequest = z.infer<typeof ImpairRequest>;

export const MuteRequest = z.object({ kind: TrackKind, muted: z.boolean() });
export type MuteRequest = z.infer<typeof MuteRequest>;
/** A subscriber's rendered tile sizes for the tracks it receives (see TrackPreference). */
export const PreferencesRequest = z.object({ tracks: z.array(TrackPreference).min(1).max(MAX_PREFS_TRACKS) });
export type PreferencesRequest = z.infer<typeof PreferencesRequest>;
export const RemoveParticipantResponse = z.object({ removedTracks: z.array(z.string()) });

export const ControlErrorCode = z.enum([
  "unauthorized",
  "bad-request",
  "not-found",
  "unsupported-version",
  "payload-too-large",
  "negotiation-failed",
  "over-capacity",
  "internal",
]);
export type ControlErrorCode = z.infer<typeof ControlErrorCode>;
export const ControlError = z.object({ error: ControlErrorCode, message: z.string() });
export type ControlError = z.infer<typeof ControlError>;
