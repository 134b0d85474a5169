import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IceServer, turnCredentials } from "@sfu/shared";

const SECRET = "north-wind-secret";
const URLS = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"];
const NOW_MS = 1_760_000_000_500;

describe("turnCredentials (coturn REST API scheme)", () => {
  it("username is <expiry unix seconds>:<id>, credential base64(HMAC-SHA1(secret, username))", async () => {
    const c = await turnCredentials(SECRET, URLS, "alice", 3600, NOW_MS);
    expect(c.username).toBe("1760003600:alice");
    // Known vector: createHmac("sha1", "north-wind-secret").update("1760003600:alice").digest("base64").
    expect(c.credential).toBe("R2hcCSybQw4WP4JML6BRbCrpfvY=");
    expect(c.urls).toEqual(URLS);
    expect(IceServer.parse(c)).toEqual(c);
  });

  it.each([
    ["p-3f2a", 60, 0],
    ["9b1c2f8e-1111-4a4a-8888-0123456789ab", 86_400, 1_700_000_000_999],
    ["zoë:with:colons", 1, 1],
  ])("agrees with node:crypto for id %s, ttl %i s", async (id, ttl, now) => {
    const c = await turnCredentials("another secret ✨", URLS, id, ttl, now);
    const expiry = Math.floor(now / 1000) + ttl;
    expect(c.username).toBe(`${expiry}:${id}`);
    expect(c.credential).toBe(createHmac("sha1", "another secret ✨").update(c.username).digest("base64"));
  });

  it("depends on the secret and the expiry", async () => {
    const base = await turnCredentials(SECRET, URLS, "alice", 3600, NOW_MS);
    expect((await turnCredentials(`${SECRET}x`, URLS, "alice", 3600, NOW_MS)).credential).not.toBe(base.credential);
    expect((await turnCredentials(SECRET, URLS, "alice", 3601, NOW_MS)).credential).not.toBe(base.credential);
  });

  it("refuses an empty secret or id", async () => {
    await expect(turnCredentials("", URLS, "alice", 60, NOW_MS)).rejects.toThrow(/secret/);
    await expect(turnCredentials(SECRET, URLS, "", 60, NOW_MS)).rejects.toThrow(/id/);
  });
});

describe("IceServer", () => {
  it.each([
    { urls: ["stun:stun.example.com:3478"] },
    { urls: ["turn:127.0.0.1:34780?transport=tcp"], username: "1:p", credential: "x" },
    { urls: ["turns:turn.example.com:443?transport=tcp"], username: "1:p", credential: "x" },
  ])("accepts %j", (server) => expect(IceServer.safeParse(server).success).toBe(true));

  it.each([
    { urls: [] },
    { urls: ["http://turn.example.com"] },
    { urls: ["turn:a.example.com, turn:b.example.com"] },
    { urls: [`turn:${"a".repeat(300)}`] },
    { urls: Array.from({ length: 9 }, (_, i) => `turn:t${i}.example.com`) },
    { urls: ["turn:t.example.com"], username: 5 },
  ])("rejects %j", (server) => expect(IceServer.safeParse(server).success).toBe(false));
});
