import { errors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { DisplayName, RoomName } from "./room-protocol.ts";

/**
 * Room access tokens: HS256 JWTs signed with the worker's ROOM_TOKEN_SECRET, naming the room, the
 * identity and what it may do. A browser presents one when it opens the room's WebSocket
 * (`?token=`); the worker refuses the upgrade unless it verifies for that room.
 */
export const TOKEN_AUDIENCE = "edge-sfu";
export const MAX_TOKEN_TTL_S = 24 * 3600;

export const Grants = z.object({
  canPublish: z.boolean(),
  canSubscribe: z.boolean(),
  canAdmin: z.boolean(),
});
export type Grants = z.infer<typeof Grants>;

export const RoomTokenClaims = z.object({
  /** The identity: stable across reconnects, unique in the room. */
  sub: z.string().min(1).max(128),
  /** Display name the room shows; when absent, the name the client sends in `join`. */
  name: DisplayName.optional(),
  room: RoomName,
  grants: Grants,
});
export type RoomTokenClaims = z.infer<typeof RoomTokenClaims>;

export const DEFAULT_GRANTS: Grants = { canPublish: true, canSubscribe: true, canAdmin: false };

const key = (secret: string) => new TextEncoder().encode(secret);

export async function signRoomToken(secret: string, claims: RoomTokenClaims, ttlSeconds: number, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ ...(claims.name ? { name: claims.name } : {}), room: claims.room, grants: claims.grants })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setNotBefore(iat - 5)
    .setExpirationTime(iat + Math.min(ttlSeconds, MAX_TOKEN_TTL_S))
    .sign(key(secret));
}

export type TokenRefusal = "missing" | "malformed" | "bad-signature" | "expired" | "not-yet-valid" | "wrong-room" | "invalid-claims";
export type TokenResult = { ok: true; claims: RoomTokenClaims } | { ok: false; reason: TokenRefusal; message: string };

/** Verifies a room token for `room`; never throws. */
export async function verifyRoomToken(secret: string, token: string | null | undefined, room: string, nowMs: number): Promise<TokenResult> {
  if (!token) return { ok: false, reason: "missing", message: "a room token is required (?token=)" };
  if (token.length > 4096) return { ok: false, reason: "malformed", message: "token too long" };
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key(secret), {
      algorithms: ["HS256"],
      audience: TOKEN_AUDIENCE,
      currentDate: new Date(nowMs),
      requiredClaims: ["exp", "sub"],
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: "expired", message: "the room token has expired" };
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === "nbf") return { ok: false, reason: "not-yet-valid", message: "the room token is not valid yet" };
    if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: "bad-signature", message: "the room token's signature does not verify" };
    if (err instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: "invalid-claims", message: `the room token's ${err.claim} claim is invalid` };
    return { ok: false, reason: "malformed", message: "the room token is not a valid JWT" };
  }
  const claims = RoomTokenClaims.safeParse(payload);
  if (!claims.success) return { ok: false, reason: "invalid-claims", message: "the room token lacks a valid room or grants" };
  if (claims.data.room !== room) return { ok: false, reason: "wrong-room", message: `the room token is for room ${claims.data.room}, not ${room}` };
  return { ok: true, claims: claims.data };
}

/**
 * Admin API tokens: HS256 JWTs signed with ADMIN_TOKEN_SECRET, a secret of their own, and with their
 * own audience: neither a room token passes the admin API nor an admin token a room.
 */
export const ADMIN_AUDIENCE = "edge-sfu-admin";

export async function signAdminToken(secret: string, subject: string, ttlSeconds: number, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(subject)
    .setAudience(ADMIN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.min(ttlSeconds, MAX_TOKEN_TTL_S))
    .sign(key(secret));
}

export async function verifyAdminToken(secret: string, bearer: string | null | undefined, nowMs: number): Promise<{ ok: true; subject: string } | { ok: false; message: string }> {
  const token = bearer?.startsWith("Bearer ") ? bearer.slice(7) : undefined;
  if (!token) return { ok: false, message: "an admin token is required (Authorization: Bearer ...)" };
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ["HS256"], audience: ADMIN_AUDIENCE, currentDate: new Date(nowMs), requiredClaims: ["exp", "sub"] });
    return { ok: true, subject: String(payload.sub) };
  } catch (err) {
    return { ok: false, message: err instanceof errors.JWTExpired ? "the admin token has expired" : "the admin token does not verify" };
  }
}
