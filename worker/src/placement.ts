import type { NodeLoad } from "@sfu/shared";

export interface NodeRecord {
  id: string;
  /** The node process behind the socket; another one after a restart. */
  instanceId: string;
  /** Its socket to the edge is open (or closed for less than the reconnect grace). */
  connected: boolean;
  /** When it was last reported down; the record is forgotten NODE_FORGET_AFTER_MS later. */
  disconnectedAt?: number;
  region: string;
  capacity: number;
  load: NodeLoad;
  registeredAt: number;
  lastHeartbeat: number;
  /** Rooms placed on the node since its last heartbeat: load it has taken on but not yet reported. */
  placedSinceHeartbeat: number;
  draining: boolean;
  /** The node asked for the drain itself (SIGTERM): a restarted process takes rooms again. */
  selfDrained?: boolean;
}

export function isHealthy(node: NodeRecord, now: number, staleAfterMs: number): boolean {
  return node.connected && now - node.lastHeartbeat <= staleAfterMs;
}

/** Fraction of the node's capacity in use, counting rooms placed since its last report as one participant each. */
export function utilisation(node: NodeRecord): number {
  return (node.load.participants + node.placedSinceHeartbeat) / node.capacity;
}

/**
 * Picks the node for a new room: healthy, not draining, below capacity; a node in `preferRegion`
 * (the caller's) first unless it is above REGION_OVERFLOW, then the least utilised, then the
 * lowest id so the choice is deterministic.
 */
export function chooseNode(
  nodes: readonly NodeRecord[],
  now: number,
  staleAfterMs: number,
  preferRegion?: string,
): NodeRecord | undefined {
  let best: NodeRecord | undefined;
  for (const node of nodes) {
    if (node.draining || !isHealthy(node, now, staleAfterMs) || utilisation(node) >= 1) continue;
    if (!best || compare(node, best, preferRegion) < 0) best = node;
  }
  return best;
}

/** Above this utilisation a node in the caller's region no longer wins over emptier ones elsewhere. */
export const REGION_OVERFLOW = 0.8;

function compare(a: NodeRecord, b: NodeRecord, preferRegion?: string): number {
  const la = a.region === preferRegion && utilisation(a) < REGION_OVERFLOW ? 0 : 1;
  const lb = b.region === preferRegion && utilisation(b) < REGION_OVERFLOW ? 0 : 1;
  if (la !== lb) return la - lb;
  const du = utilisation(a) - utilisation(b);
  if (Math.abs(du) > 1e-9) return du;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
