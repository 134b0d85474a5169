import {
  assertNever,
  describeIssue,
  MAX_NODE_MESSAGE_BYTES,
  NodeActions,
  wireBytes,
  type EdgeToNode,
  type MediaLimits,
  type NodeAction,
  type NodeErrorCode,
  type NodeResponse,
  type NodeToEdge,
} from "@sfu/shared";
import type { z } from "zod";
import type { Clock } from "./clock.ts";
import { LinkImpairment } from "./egress/impairment.ts";
import { LimitError } from "./limit-error.ts";
import { log } from "./log.ts";
import type { MediaNode } from "./media-node.ts";
import type { Participant } from "./participant.ts";
import type { Room } from "./room.ts";
import { NegotiationError } from "./subscriber.ts";

/** A request the node refuses, with the code the edge gets. */
export class ControlError extends Error {
  constructor(
    readonly code: NodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ControlOptions {
  /** DEBUG_IMPAIRMENT=1: `impair` is served; otherwise it is not-found. */
  allowImpairment?: boolean;
  /** What a participant may publish (default MEDIA_LIMITS, the edge's). */
  mediaLimits?: MediaLimits;
}

type Request = Extract<EdgeToNode, { type: "request" }>;

/**
 * The node's reply to one of the edge's requests: its result, or a typed error. Never throws.
 * `clock` is read when the request arrives (the `now` it runs with) and when it is done (for the log).
 */
export async function answer(node: MediaNode, req: Request, clock: Clock, opts: ControlOptions = {}): Promise<NodeToEdge> {
  const now = clock.now();
  try {
    const body = await runAction(node, req.action, req.body, now, opts);
    const participantId = (req.body as { participantId?: unknown } | null)?.participantId;
    log("debug", "edge request", { id: req.id, action: req.action, ms: Math.round(clock.now() - now), ...(typeof participantId === "string" ? { participantId } : {}) });
    return withinMessageCap({ type: "result", id: req.id, body }, req.action);
  } catch (err) {
    const refused = err instanceof ControlError;
    if (!refused) log("error", "edge request failed", { id: req.id, action: req.action, error: String(err), stack: (err as Error).stack });
    else log("debug", "edge request refused", { id: req.id, action: req.action, code: err.code, message: err.message });
    return { type: "error", id: req.id, code: refused ? err.code : "internal", message: refused ? err.message.slice(0, 1024) : "internal error" };
  }
}

/**
 * The result, or a payload-too-large error in its place when it would exceed the node socket's
 * message cap: the edge closes a socket that sends more, and with it every room on the node.
 */
export function withinMessageCap(result: Extract<NodeToEdge, { type: "result" }>, action: string): NodeToEdge {
  const bytes = wireBytes(JSON.stringify(result));
  if (bytes <= MAX_NODE_MESSAGE_BYTES) return result;
  log("warn", "edge request answer too large", { id: result.id, action, bytes });
  return { type: "error", id: result.id, code: "payload-too-large", message: `the answer to ${action} would exceed ${MAX_NODE_MESSAGE_BYTES} bytes` };
}

/**
 * Runs one of the edge's requests against the node. Throws ControlError for a refusal; any other
 * throw is a node fault (`internal`). A failed call for a participant it created leaves nothing behind.
 */
export async function runAction(node: MediaNode, action: NodeAction, body: unknown, now: number, opts: ControlOptions = {}): Promise<NodeResponse<NodeAction>> {
  switch (action) {
    case "publish": {
      const { room, participantId, sdp } = parse(NodeActions.publish.request, body);
      return forParticipant(node, room, participantId, async (p) => {
        const { answer } = await negotiation(() => p.openPublisher().negotiate(sdp, opts.mediaLimits));
        // An answer the edge would refuse must not leave tracks here that the room never lists.
        if (!NodeActions.publish.response.safeParse(answer).success) {
          p.closePublisher();
          throw new ControlError("payload-too-large", "the publish answer is over the signaling limits; nothing was published");
        }
        return answer;
      });
    }
    case "subscriber-offer": {
      const { room, participantId } = parse(NodeActions["subscriber-offer"].request, body);
      return forParticipant(node, room, participantId, (p, r) => negotiation(() => p.openSubscriber().offer(r.tracksFor(participantId), now)));
    }
    case "subscriber-answer": {
      const { room, participantId, sdp } = parse(NodeActions["subscriber-answer"].request, body);
      return forParticipant(node, room, participantId, (p, r) => negotiation(() => p.openSubscriber().answer(sdp, r.tracksFor(participantId), now)));
    }
    case "candidate": {
      const { room, participantId, target, candidate } = parse(NodeActions.candidate.request, body);
      return forParticipant(node, room, participantId, async (p) => {
        await negotiation(() => (target === "publisher" ? p.openPublisher() : p.openSubscriber()).addCandidate(candidate));
        return {};
      });
    }
    case "mute": {
      const { room, participantId, kind, muted } = parse(NodeActions.mute.request, body);
      return forParticipant(node, room, participantId, async (p) => {
        for (const track of p.tracks) if (track.kind === kind) track.setMuted(muted, now);
        return {};
      });
    }
    case "preferences": {
      const { room, participantId, tracks } = parse(NodeActions.preferences.request, body);
      // Tile sizes are about a participant's subscriptions: they never create a participant or a subscriber.
      const participant = node.rooms.get(room)?.participants.get(participantId);
      if (!participant) throw new ControlError("not-found", "no such participant");
      participant.subscriber?.setPreferences(tracks, now);
      return {};
    }
    case "remove": {
      const { room, participantId } = parse(NodeActions.remove.request, body);
      return { removedTracks: node.removeParticipant(room, participantId) };
    }
    case "close-room": {
      const { room } = parse(NodeActions["close-room"].request, body);
      const held = node.rooms.has(room);
      if (held) log("info", "closing a room the edge does not place here", { room });
      node.closeRoom(room);
      return { closed: held };
    }
    case "impair": {
      const { room, participantId, kbps, lossPercent } = parse(NodeActions.impair.request, body);
      if (!opts.allowImpairment) throw new ControlError("not-found", "impairment is off on this node (DEBUG_IMPAIRMENT)");
      return forParticipant(node, room, participantId, async (p) => {
        p.openSubscriber().egress.impairment = kbps === undefined && !lossPercent ? undefined : new LinkImpairment(kbps, lossPercent);
        return {};
      });
    }
    default:
      return assertNever(action);
  }
}

/**
 * Runs `op` on the participant, creating it if need be (unless the node is full); if that fails, a
 * participant it created is removed again.
 */
async function forParticipant<T>(node: MediaNode, roomId: string, participantId: string, op: (p: Participant, room: Room) => Promise<T>): Promise<T> {
  const existed = node.rooms.get(roomId)?.participants.has(participantId) ?? false;
  if (!existed && node.full) throw new ControlError("over-capacity", `this media node is full (${node.capacity} participants)`);
  const room = node.openRoom(roomId);
  try {
    return await op(room.openParticipant(participantId), room);
  } catch (err) {
    if (!existed) node.removeParticipant(roomId, participantId);
    throw err;
  }
}

/** werift throws plain Errors on SDP it cannot use; those are the caller's fault, not a node failure. */
async function negotiation<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof ControlError) throw err;
    if (err instanceof LimitError) throw new ControlError(err.code, err.message);
    throw new ControlError("negotiation-failed", err instanceof NegotiationError ? err.message : `negotiation failed: ${(err as Error).message}`);
  }
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ControlError("bad-request", describeIssue("invalid body", parsed.error));
  return parsed.data;
}
