import type { MediaNodeDO } from "./node-do.ts";
import type { NodeRegistryDO } from "./registry-do.ts";
import type { RoomDO } from "./room-do.ts";

export interface Env {
  ROOMS: DurableObjectNamespace<RoomDO>;
  REGISTRY: DurableObjectNamespace<NodeRegistryDO>;
  /** One per media node: holds that node's socket. */
  NODES: DurableObjectNamespace<MediaNodeDO>;
  ASSETS: Fetcher;
  /** Shared secret of the media-node fleet: signs each node's connect proof. */
  FLEET_SECRET: string;
  /** Signs and verifies room tokens (HS256). */
  ROOM_TOKEN_SECRET: string;
  /** "true" only in local development: enables GET /dev/token, which mints tokens for anyone. */
  DEV_MODE?: string;
  /** How long a participant whose socket dropped is kept for a `resume` (ms, default 15000). */
  RESUME_GRACE_MS?: string;
  /** A connected node silent (no heartbeat) for longer than this is down (ms, default 3000). */
  NODE_STALE_MS?: string;
  /** A node whose socket closed is down unless it reconnects within this (ms, default 1000). */
  NODE_RECONNECT_GRACE_MS?: string;
}

function msSetting(value: string | undefined, fallback: number, min = 1): number {
  const n = Number(value ?? fallback);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

export const staleAfterMs = (env: Env) => msSetting(env.NODE_STALE_MS, 3000);
export const reconnectGraceMs = (env: Env) => msSetting(env.NODE_RECONNECT_GRACE_MS, 1000, 0);
export const resumeGraceMs = (env: Env) => msSetting(env.RESUME_GRACE_MS, 15_000, 0);

export function registry(env: Env): DurableObjectStub<NodeRegistryDO> {
  return env.REGISTRY.get(env.REGISTRY.idFromName("global"));
}

export function nodeStub(env: Env, nodeId: string): DurableObjectStub<MediaNodeDO> {
  return env.NODES.get(env.NODES.idFromName(nodeId));
}

export function roomStub(env: Env, room: string): DurableObjectStub<RoomDO> {
  return env.ROOMS.get(env.ROOMS.idFromName(room));
}
