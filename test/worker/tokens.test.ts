import { env, SELF } from "cloudflare:test";
import { signAdminToken } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE, closeOpenedSockets, openRoomSocket, registerNode, roomToken } from "./helpers.ts";

async function upgrade(room: string, token?: string): Promise<Response> {
  const query = token === undefined ? "" : `?token=${encodeURIComponent(token)}`;
  return SELF.fetch(`${BASE}/rooms/${room}/ws${query}`, { headers: { Upgrade: "websocket" } });
}

/** A token whose signature part is replaced, keeping header and claims. */
function forge(token: string): string {
  const [h, p] = token.split(".");
  return `${h}.${p}.${"A".repeat(43)}`;
}

beforeEach(async () => {
  await registerNode("fake-node");
});

afterEach(closeOpenedSockets);

describe("room tokens at the WebSocket upgrade", () => {
  it.each([
    ["no token", async (): Promise<string | undefined> => undefined, 401, "missing"],
    ["an empty token", async (): Promise<string | undefined> => "", 401, "missing"],
    ["garbage", async (): Promise<string | undefined> => "not.a.jwt", 401, "malformed"],
    ["a token signed with another secret", () => roomToken("tok", {}, { secret: "some-other-secret-entirely" }), 401, "bad-signature"],
    ["a room token signed with the admin-token secret", () => roomToken("tok", {}, { secret: env.ADMIN_TOKEN_SECRET }), 401, "bad-signature"],
    ["an admin token", () => signAdminToken(env.ADMIN_TOKEN_SECRET, "ops", 300, Date.now()), 401, "bad-signature"],
    ["a forged signature", async () => forge(await roomToken("tok")), 401, "bad-signature"],
    ["an expired token", () => roomToken("tok", {}, { at: Date.now() - 3_600_000, ttlSeconds: 60 }), 401, "expired"],
    ["a token not valid yet", () => roomToken("tok", {}, { at: Date.now() + 3_600_000 }), 401, "not-yet-valid"],
    ["a token for another room", () => roomToken("other-room"), 403, "wrong-room"],
  ] as const)("%s is refused before the socket is accepted", async (_name, token, status, reason) => {
    const res = await upgrade("tok", await token());
    expect(res.status).toBe(status);
    expect(res.webSocket).toBeNull();
    const body = await res.json<{ error: string; message: string }>();
    expect(body.error).toBe(reason);
    expect(body.message.length).toBeGreaterThan(0);
  });

  it("a valid token for the room is accepted", async () => {
    const res = await upgrade("tok", await roomToken("tok"));
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close();
  });

  it("the token's display name wins over the one sent in join", async () => {
    const s = await openRoomSocket("named", await roomToken("named", { name: "Grace Hopper" }));
    const joined = await s.join("Somebody Else");
    expect(joined.participants.map((p) => p.name)).toEqual(["Grace Hopper"]);
  });

  it("a token without canPublish cannot publish", async () => {
    const grants = { canPublish: false, canSubscribe: true, canAdmin: false };
    const s = await openRoomSocket("viewers", await roomToken("viewers", { grants }));
    await s.join("Viewer");
    s.send({ v: 1, type: "publish", sdp: "v=0\r\n" });
    const err = await s.error("forbidden");
    expect(err.inReplyTo).toBe("publish");
  });
});

describe("GET /dev/token", () => {
  it("does not exist unless DEV_MODE is true", async () => {
    const res = await SELF.fetch(`${BASE}/dev/token?room=r&name=Alice`);
    expect(res.status).toBe(404);
  });
});
