import type { MediaNodeDO } from "./node-do.ts";
import type { NodeRegistryDO } from "./registry-do.ts";
import type { RoomDO } from "./room-do.ts";
import { DEFAULT_MAX_PARTICIPANTS_PER_ROOM, IceServerUrl, turnCredentials, type IceServer } from "@sfu/shared";

/**
 * The bindings (ROOMS, REGISTRY, NODES, ASSETS) come from `wrangler types`, generated from
 * wrangler.toml into worker-configuration.d.ts; secrets and optional settings are declared here.
 */
export type Env = Cloudflare.Env & Settings;

export interface Settings {
  /** Shared secret of the media-node fleet: signs each node's connect proof. */
  FLEET_SECRET: string;
  /** Signs and verifies room tokens (HS256). */
  ROOM_TOKEN_SECRET: string;
  /** Verifies admin API tokens (HS256): a key of its own, so whoever mints room tokens cannot mint admin tokens. */
  ADMIN_TOKEN_SECRET: string;
  /** "true" only in local development: enables GET /dev/token, which mints tokens for anyone. */
  DEV_MODE?: string;
  /**
   * "true" in local development and tests: browsers' loopback, private and link-local ICE candidates
   * go to the media node. Unset (production): they are dropped, so no browser can have the node send
   * connectivity checks into its own networks.
   */
  ALLOW_PRIVATE_CANDIDATES?: string;
  /** How long a participant whose socket dropped is kept for a `resume` (ms, default 15000). */
  RESUME_GRACE_MS?: string;
  /** A connected node silent (no heartbeat) for longer than this is down (ms, default 3000). */
  NODE_STALE_MS?: string;
  /** A node whose socket closed is down unless it reconnects within this (ms, default 500). */
  NODE_RECONNECT_GRACE_MS?: string;
  /** Most participants in one room (default 100); a join beyond gets `room-full`. */
  MAX_PARTICIPANTS_PER_ROOM?: string;
  /** A node down for this long is forgotten: its records leave storage, an admin's drain with them (ms, default 3600000). */
  NODE_FORGET_AFTER_MS?: string;
  /** TURN server URLs offered to browsers, comma-separated (turn:, turns:, stun:); unset = no TURN. */
  TURN_URLS?: string;
  /** coturn's `static-auth-secret`: TURN credentials are minted with it (REST API scheme). */
  TURN_SECRET?: string;
  /** How long minted TURN credentials are valid (seconds, default 86400: a room token's longest life). */
  TURN_TTL_S?: string;
}

function msSetting(value: string | undefined, fallback: number, min = 1): number {
  const n = Number(value ?? fallback);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

export const staleAfterMs = (env: Env) => msSetting(env.NODE_STALE_MS, 3000);
export const reconnectGraceMs = (env: Env) => msSetting(env.NODE_RECONNECT_GRACE_MS, 3000, 0);
export const resumeGraceMs = (env: Env) => msSetting(env.RESUME_GRACE_MS, 15_000, 0);
export const allowPrivateCandidates = (env: Env) => env.ALLOW_PRIVATE_CANDIDATES === "true";

export function maxParticipantsPerRoom(env: Env): number {
  const n = Number(env.MAX_PARTICIPANTS_PER_ROOM ?? DEFAULT_MAX_PARTICIPANTS_PER_ROOM);
  return Number.isInteger(n) && n >= 1 ? n : DEFAULT_MAX_PARTICIPANTS_PER_ROOM;
}
export const forgetAfterMs = (env: Env) => msSetting(env.NODE_FORGET_AFTER_MS, 3_600_000, 0);

export function registry(env: Env): DurableObjectStub<NodeRegistryDO> {
  return env.REGISTRY.get(env.REGISTRY.idFromName("global"));
}

export function nodeStub(env: Env, nodeId: string): DurableObjectStub<MediaNodeDO> {
  return env.NODES.get(env.NODES.idFromName(nodeId));
}

export function roomStub(env: Env, room: string): DurableObjectStub<RoomDO> {
  return env.ROOMS.get(env.ROOMS.idFromName(room));
}

/**
 * Default TURN credential lifetime: a room token's longest life (24 h). The credential is checked
 * when the browser makes an allocation, i.e. whenever it creates a PeerConnection; the app creates
 * them again on a republish (node failover, `media-failed`), which can come long after `joined`,
 * and a resume's `joined` brings fresh ones. So the lifetime must cover a whole visit.
 */
export const DEFAULT_TURN_TTL_S = 86_400;

export interface TurnConfig {
  urls: string[];
  secret: string;
  ttlSeconds: number;
}

let warned = "";
function warnOnce(message: string): void {
  if (warned === message) return;
  warned = message;
  console.error(message);
}

/** The TURN configuration, or null when TURN is not configured (or misconfigured: logged, not offered). */
export function turnConfig(env: Env): TurnConfig | null {
  const urls = (env.TURN_URLS ?? "").split(",").map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) return null;
  if (!env.TURN_SECRET) {
    warnOnce("TURN_URLS is set but TURN_SECRET is not: TURN is not offered");
    return null;
  }
  const bad = urls.find((u) => !IceServerUrl.safeParse(u).success);
  if (bad !== undefined || urls.length > 8) {
    warnOnce(`TURN_URLS must be 1-8 turn:, turns: or stun: URLs (bad: ${bad ?? "too many"}): TURN is not offered`);
    return null;
  }
  const ttl = Number(env.TURN_TTL_S ?? DEFAULT_TURN_TTL_S);
  return { urls, secret: env.TURN_SECRET, ttlSeconds: Number.isInteger(ttl) && ttl > 0 ? ttl : DEFAULT_TURN_TTL_S };
}

/** The `iceServers` for a participant's `joined`: fresh TURN credentials, or [] without TURN. */
export async function iceServersFor(env: Env, participantId: string, nowMs: number): Promise<IceServer[]> {
  const turn = turnConfig(env);
  if (!turn) return [];
  return [await turnCredentials(turn.secret, turn.urls, participantId, turn.ttlSeconds, nowMs)];
}
