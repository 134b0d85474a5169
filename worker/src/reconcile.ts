/**
 * Reconciliation, without I/O: what the edge frees on a node after the node reported what it holds
 * (its inventory), and when the records of nodes that are gone leave storage. `now` comes in from
 * the caller's clock.
 */
import type { NodeRecord } from "./placement.ts";

/** What a room expects a node to hold for it: participant ids, or null when the room has nothing there. */
export type Expectation = ReadonlySet<string> | null;

export type HeldRoomVerdict =
  | { type: "keep" }
  /** The room has nothing on this node (it emptied, or moved away): the node frees the whole room. */
  | { type: "close-room" }
  /** Participants the node holds that the room no longer has there. */
  | { type: "remove"; participantIds: string[] };

/**
 * The node holds `held` in a room that expects `expected` there. Participants the room expects but
 * the node lacks are not this function's business: the node reports a failed connection itself.
 */
export function reconcileHeldRoom(held: readonly string[], expected: Expectation): HeldRoomVerdict {
  if (expected === null) return { type: "close-room" };
  const orphans = [...new Set(held)].filter((id) => !expected.has(id));
  return orphans.length > 0 ? { type: "remove", participantIds: orphans } : { type: "keep" };
}

/** When a disconnected node's record is forgotten (records from before `disconnectedAt` count from the last heartbeat). */
export function forgetAt(node: NodeRecord, forgetAfterMs: number): number | null {
  if (node.connected) return null;
  return (node.disconnectedAt ?? node.lastHeartbeat) + forgetAfterMs;
}

/** Nodes gone (disconnected) for `forgetAfterMs` or longer that no room is placed on: their records leave the registry. */
export function departedNodes(nodes: readonly NodeRecord[], placedOn: ReadonlySet<string>, now: number, forgetAfterMs: number): string[] {
  return nodes
    .filter((n) => {
      const at = forgetAt(n, forgetAfterMs);
      return at !== null && now >= at && !placedOn.has(n.id);
    })
    .map((n) => n.id);
}

/**
 * When a node's link object may drop its state: the node has been down for `forgetAfterMs`, and the
 * newest proof it accepted has expired, so forgetting that proof lets no replay through.
 */
export function linkForgetAt(downAt: number, lastProofAt: number, forgetAfterMs: number, proofMaxSkewMs: number): number {
  return Math.max(downAt + forgetAfterMs, lastProofAt + proofMaxSkewMs + 1);
}
