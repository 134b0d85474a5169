import type { NodeRegistryDO } from "./registry-do.ts";
import type { RoomDO } from "./room-do.ts";

export interface Env {
  ROOMS: DurableObjectNamespace<RoomDO>;
  REGISTRY: DurableObjectNamespace<NodeRegistryDO>;
  ASSETS: Fetcher;
  /** Shared secret of the media-node fleet: signs registrations, heartbeats and control calls. */
  FLEET_SECRET: string;
  /** Signs and verifies room tokens (HS256). */
  ROOM_TOKEN_SECRET: string;
  /** "true" only in local development: enables GET /dev/token, which mints tokens for anyone. */
  DEV_MODE?: string;
  /** How long a participant whose socket dropped is kept for a `resume` (ms, default 15000). */
  RESUME_GRACE_MS?: string;
  /** A node whose last heartbeat is older than this is not given rooms (ms). */
  NODE_STALE_MS?: string;
}

export function staleAfterMs(env: Env): number {
  const n = Number(env.NODE_STALE_MS ?? "10000");
  return Number.isFinite(n) && n > 0 ? n : 10_000;
}

export function resumeGraceMs(env: Env): number {
  const n = Number(env.RESUME_GRACE_MS ?? "15000");
  return Number.isFinite(n) && n >= 0 ? n : 15_000;
}

export function registry(env: Env): DurableObjectStub<NodeRegistryDO> {
  return env.REGISTRY.get(env.REGISTRY.idFromName("global"));
}
