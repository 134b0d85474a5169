import { env, reset, SELF } from "cloudflare:test";
import { CloseCode, signAdminToken } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE, closeOpenedSockets, openRoomSocket, registerNode, roomToken, type FakeNode } from "./helpers.ts";

async function call(method: string, path: string, body?: unknown, token?: string | null): Promise<Response> {
  const auth = token === null ? undefined : `Bearer ${token ?? (await signAdminToken(env.ADMIN_TOKEN_SECRET, "ops", 300, Date.now()))}`;
  return SELF.fetch(`${BASE}/admin${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
  });
}

let nodeA: FakeNode;

beforeEach(async () => {
  await reset();
  nodeA = await registerNode("node-a");
});

afterEach(closeOpenedSockets);

describe("admin API authentication", () => {
  it.each([
    ["no token", null],
    ["garbage", "nope"],
    ["a room token (wrong audience)", "ROOM"],
    ["an admin token signed with another secret", "OTHER"],
    ["an admin token signed with the room-token secret", "ROOM_SECRET"],
    ["an expired admin token", "EXPIRED"],
  ] as const)("refuses %s with 401", async (_name, kind) => {
    const token =
      kind === "ROOM" ? await roomToken("r") :
      kind === "OTHER" ? await signAdminToken("some-other-secret-entirely", "ops", 300, Date.now()) :
      kind === "ROOM_SECRET" ? await signAdminToken(env.ROOM_TOKEN_SECRET, "ops", 300, Date.now()) :
      kind === "EXPIRED" ? await signAdminToken(env.ADMIN_TOKEN_SECRET, "ops", 60, Date.now() - 3_600_000) :
      kind;
    const res = await call("GET", "/nodes", undefined, token);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "unauthorized" });
  });
});

describe("admin API", () => {
  it("lists nodes with their load and health", async () => {
    const res = await call("GET", "/nodes");
    expect(res.status).toBe(200);
    const { nodes } = await res.json<{ nodes: Array<{ id: string; healthy: boolean; load: { participants: number } }> }>();
    expect(nodes.map((n) => [n.id, n.healthy])).toEqual([["node-a", true]]);
  });

  it("lists rooms with their participants", async () => {
    const alice = await openRoomSocket("listed");
    await alice.join("Alice");
    const { rooms } = await (await call("GET", "/rooms")).json<{ rooms: Array<{ room: string; node: { id: string }; participants: Array<{ name: string; connected: boolean }> }> }>();
    expect(rooms).toHaveLength(1);
    expect(rooms[0]).toMatchObject({ room: "listed", node: { id: "node-a" }, participants: [{ name: "Alice", connected: true }] });
  });

  it("kicks a participant: its socket closes with 4004 and the others see it leave", async () => {
    const alice = await openRoomSocket("kick");
    const bob = await openRoomSocket("kick");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    const res = await call("POST", `/rooms/kick/participants/${aliceId}/kick`);
    expect(res.status).toBe(200);
    expect((await alice.closed).code).toBe(CloseCode.kicked);
    expect((await bob.next("participant-left")).participantId).toBe(aliceId);
    expect((await call("POST", `/rooms/kick/participants/${aliceId}/kick`)).status).toBe(404);
  });

  it("closes a room: every socket closes with 4003", async () => {
    const alice = await openRoomSocket("closing");
    const bob = await openRoomSocket("closing");
    await alice.join("Alice");
    await bob.join("Bob");
    expect(await (await call("POST", "/rooms/closing/close")).json()).toEqual({ closed: 2 });
    expect((await alice.closed).code).toBe(CloseCode.roomClosed);
    expect((await bob.closed).code).toBe(CloseCode.roomClosed);
  });

  it("drains a node: its rooms move to another, and it gets no new rooms", async () => {
    const alice = await openRoomSocket("drained");
    await alice.join("Alice");
    await registerNode("node-b");
    const res = await call("POST", "/nodes/node-a/drain", { draining: true });
    expect(res.status).toBe(200);
    expect((await res.json<{ node: { draining: boolean } }>()).node.draining).toBe(true);
    await alice.error("media-moved"); // the drained node still forwards: make before break
    const summary = await (await call("GET", "/rooms/drained")).json<{ node: { id: string } }>();
    expect(summary.node.id).toBe("node-b");
    const carol = await openRoomSocket("fresh-room");
    await carol.join("Carol");
    expect((await (await call("GET", "/rooms/fresh-room")).json<{ node: { id: string } }>()).node.id).toBe("node-b");
  });

  it("mute reports a media node that could not apply it, and an unknown participant is 404", async () => {
    const alice = await openRoomSocket("muting");
    const { participantId } = await alice.join("Alice");
    const res = await call("POST", `/rooms/muting/participants/${participantId}/mute`, { kind: "audio" });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: "media-node-error" });
    expect((await call("POST", "/rooms/muting/participants/nobody/mute", { kind: "audio" })).status).toBe(404);
  });

  it.each([
    ["a bad drain body", "POST", "/nodes/node-a/drain", { draining: "yes" }, 400],
    ["an unknown node", "POST", "/nodes/node-z/drain", { draining: true }, 404],
    ["a bad mute kind", "POST", "/rooms/r/participants/p/mute", { kind: "smell" }, 400],
    ["a bad room name", "POST", "/rooms/bad.name/close", undefined, 400],
  ] as const)("answers %s with %i", async (_name, method, path, body, status) => {
    expect((await call(method, path, body)).status).toBe(status);
  });
});

describe("an admin's mute", () => {
  it("cannot be undone by the participant", async () => {
    const alice = await openRoomSocket("admin-muted");
    const { participantId } = await alice.join("Alice");
    nodeA.answer = (req) => (req.action === "mute" ? { body: {} } : { error: "internal" });
    expect((await call("POST", `/rooms/admin-muted/participants/${participantId}/mute`, { kind: "audio" })).status).toBe(200);
    expect((await alice.next("force-mute")).kind).toBe("audio");
    await alice.next("participant-updated");
    alice.send({ v: 1, type: "set-muted", kind: "audio", muted: false });
    expect((await alice.error("forbidden")).inReplyTo).toBe("set-muted");
    alice.send({ v: 1, type: "set-muted", kind: "video", muted: false });
    expect((await alice.next("participant-updated")).participant.id).toBe(participantId);
  });
});
