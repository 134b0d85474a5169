import { env, reset } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_TURN_TTL_S, iceServersFor, turnConfig, type Env } from "../../worker/src/env.ts";
import { closeOpenedSockets, openRoomSocket, registerNode, roomToken } from "./helpers.ts";

beforeEach(async () => {
  await reset();
  await registerNode("fake-node");
});

afterEach(closeOpenedSockets);

const TURN_URLS = ["turn:turn.sfu.test:3478?transport=udp", "turns:turn.sfu.test:443?transport=tcp"];

/** base64(HMAC-SHA1(secret, username)), the check coturn makes. */
async function expectedCredential(secret: string, username: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  return btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(username)))));
}

describe("TURN credentials in joined", () => {
  it("join and resume each get fresh REST-API credentials for the configured URLs", async () => {
    const token = await roomToken("turn", { sub: "alice" });
    const alice = await openRoomSocket("turn", token);
    const before = Math.floor(Date.now() / 1000);
    const joined = await alice.join("Alice");
    expect(joined.iceServers).toHaveLength(1);
    const [server] = joined.iceServers;
    expect(server!.urls).toEqual(TURN_URLS);
    const [expiry, user] = server!.username!.split(":");
    expect(user).toBe(joined.participantId);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + DEFAULT_TURN_TTL_S);
    expect(Number(expiry)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + DEFAULT_TURN_TTL_S);
    expect(server!.credential).toBe(await expectedCredential(env.TURN_SECRET!, server!.username!));

    alice.close(3000, "blip");
    const again = await openRoomSocket("turn", token);
    again.send({ v: 1, type: "resume", participantId: joined.participantId, secret: joined.resumeSecret });
    const resumed = await again.next("joined");
    expect(resumed.iceServers[0]!.urls).toEqual(TURN_URLS);
    expect(resumed.iceServers[0]!.credential).toBe(await expectedCredential(env.TURN_SECRET!, resumed.iceServers[0]!.username!));
  });
});

describe("turnConfig / iceServersFor", () => {
  const base = env as unknown as Env;
  const without = (over: Partial<Env>): Env => ({ ...base, TURN_URLS: undefined, TURN_SECRET: undefined, TURN_TTL_S: undefined, ...over });

  it("offers nothing without TURN_URLS, or without TURN_SECRET, or with a bad URL", async () => {
    expect(await iceServersFor(without({}), "p1", Date.now())).toEqual([]);
    expect(await iceServersFor(without({ TURN_URLS: "turn:t.example.com" }), "p1", Date.now())).toEqual([]);
    expect(await iceServersFor(without({ TURN_URLS: "turn:t.example.com,https://x", TURN_SECRET: "s" }), "p1", Date.now())).toEqual([]);
    expect(turnConfig(without({ TURN_URLS: " , ", TURN_SECRET: "s" }))).toBeNull();
  });

  it("uses TURN_TTL_S for the expiry, the default when it is not a positive integer", async () => {
    const nowMs = 1_760_000_000_000;
    const urls = "turn:t.example.com:3478?transport=tcp";
    const [short] = await iceServersFor(without({ TURN_URLS: urls, TURN_SECRET: "s", TURN_TTL_S: "600" }), "p1", nowMs);
    expect(short!.username).toBe(`${nowMs / 1000 + 600}:p1`);
    expect(turnConfig(without({ TURN_URLS: urls, TURN_SECRET: "s", TURN_TTL_S: "-5" }))!.ttlSeconds).toBe(DEFAULT_TURN_TTL_S);
    expect(turnConfig(without({ TURN_URLS: urls, TURN_SECRET: "s", TURN_TTL_S: "soon" }))!.ttlSeconds).toBe(DEFAULT_TURN_TTL_S);
  });
});
