import type { Scheduler } from "./clock.ts";
import type { Emitter } from "./events.ts";
import type { RtcNetwork } from "./webrtc.ts";

/** What the node tells its I/O edge (the edge link turns most of these into wire events). */
export interface MediaNodeEvents {
  /** A participant whose PeerConnection failed has been freed. */
  "participant-failed": { room: string; participantId: string };
  /** The room's loudest participant changed (null: nobody is speaking). */
  "active-speaker": { room: string; participantId: string | null };
  /** Dynacast: the simulcast layers of a published track that someone needs changed. */
  "layer-demand": { room: string; participantId: string; trackId: string; rids: string[] };
  /** A room was freed: its last participant left, or it was closed. */
  "room-closed": { room: string };
  /** Internal: a participant's PeerConnection failed; the node frees the participant, then emits participant-failed. */
  "connection-failed": { room: string; participantId: string };
}

/** What every object of one node shares, handed down once from the node to its rooms and on. */
export interface NodeContext {
  readonly net: RtcNetwork;
  /** The node's one scheduler; its clock is the node's one clock. */
  readonly scheduler: Scheduler;
  readonly events: Emitter<MediaNodeEvents>;
}
