import type { NodeLoad } from "@sfu/shared";

export interface NodeRecord {
  id: string;
  url: string;
  region: string;
  capacity: number;
  load: NodeLoad;
  registeredAt: number;
  lastHeartbeat: number;
  /** Rooms placed on the node since its last heartbeat: load it has taken on but not yet reported. */
  placedSinceHeartbeat: number;
  draining: boolean;
}

export function isHealthy(node: NodeRecord, now: number, staleAfterMs: number): boolean {
  return now - node.lastHeartbeat <= staleAfterMs;
}

/** Fraction of the node's capacity in use, counting rooms placed since its last report as one participant each. */
export function utilisation(node: NodeRecord): number {
  return (node.load.participants + node.placedSinceHeartbeat) / node.capacity;
}

/**
 * Picks the node for a new room: healthy, not draining, below capacity, least utilised; ties go to
 * the node in `preferRegion`, then to the lowest id so the choice is deterministic.
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

function compare(a: NodeRecord, b: NodeRecord, preferRegion?: string): number {
  const du = utilisation(a) - utilisation(b);
  if (Math.abs(du) > 1e-9) return du;
  const ra = a.region === preferRegion ? 0 : 1;
  const rb = b.region === preferRegion ? 0 : 1;
  if (ra !== rb) return ra - rb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
