import { env, reset, runInDurableObject } from "cloudflare:test";
import type { ParticipantInfo } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RoomDO } from "../../worker/src/room-do.ts";
import { closeOpenedSockets, openRoomSocket, registerNode, signedPost } from "./helpers.ts";

const NODE_ID = "fake-node";
const open = openRoomSocket;
const stub = (room: string) => env.ROOMS.get(env.ROOMS.idFromName(room));

interface Call {
  method: string;
  path: string;
  body: unknown;
}

/** Replaces the room's node client with one that records calls and answers `{}`. */
async function recordNodeCalls(room: string): Promise<Call[]> {
  const calls: Call[] = [];
  await runInDurableObject(stub(room), (instance: RoomDO) => {
    (instance as unknown as { nodeClient: () => unknown }).nodeClient = () => ({
      call: async (method: string, path: string, body: unknown) => {
        calls.push({ method, path, body });
        return {};
      },
    });
  });
  return calls;
}

async function givePublishedTracks(room: string, participantId: string): Promise<void> {
  await runInDurableObject(stub(room), async (instance: RoomDO, state) => {
    const p = (instance as unknown as { participants: Map<string, ParticipantInfo> }).participants.get(participantId)!;
    p.tracks = [{ id: `${participantId}:0`, kind: "audio", muted: false }, { id: `${participantId}:1`, kind: "video", muted: false }];
    await state.storage.put(`p:${participantId}`, p);
  });
}

beforeEach(async () => {
  await reset();
  await registerNode(NODE_ID);
});

afterEach(closeOpenedSockets);

describe("subscription-prefs", () => {
  it("is relayed to the room's node as a signed preferences call", async () => {
    const alice = await open("prefs");
    const { participantId } = await alice.join("Alice");
    const calls = await recordNodeCalls("prefs");
    const tracks = [{ trackId: "bob:1", width: 160, height: 120 }, { trackId: "carol:1", width: 0, height: 0 }];
    alice.send({ v: 1, type: "subscription-prefs", tracks });
    await expect.poll(() => calls.length).toBe(1);
    expect(calls[0]).toEqual({ method: "POST", path: `/rooms/prefs/participants/${participantId}/preferences`, body: { tracks } });
  });

  it.each([
    ["an empty list", []],
    ["65 entries", Array.from({ length: 65 }, (_, i) => ({ trackId: `t${i}`, width: 10, height: 10 }))],
    ["a negative width", [{ trackId: "t", width: -1, height: 10 }]],
    ["a fractional height", [{ trackId: "t", width: 10, height: 10.5 }]],
    ["a width over 16384", [{ trackId: "t", width: 16385, height: 10 }]],
    ["a string size", [{ trackId: "t", width: "160", height: 120 }]],
    ["no track id", [{ width: 160, height: 120 }]],
  ])("with %s gets bad-message and relays nothing", async (_name, tracks) => {
    const alice = await open("prefs-bad");
    await alice.join("Alice");
    const calls = await recordNodeCalls("prefs-bad");
    alice.send({ v: 1, type: "subscription-prefs", tracks });
    const err = await alice.next("error", (m) => m.inReplyTo === "subscription-prefs");
    expect(err.code).toBe("bad-message");
    // A valid message after it is relayed, and is the only call: the bad one changed nothing.
    alice.send({ v: 1, type: "subscription-prefs", tracks: [{ trackId: "ok", width: 1, height: 1 }] });
    await expect.poll(() => calls.length).toBe(1);
    expect(calls[0]!.body).toEqual({ tracks: [{ trackId: "ok", width: 1, height: 1 }] });
  });

  it("without tracks at all gets bad-message", async () => {
    const alice = await open("prefs-missing");
    await alice.join("Alice");
    alice.send({ v: 1, type: "subscription-prefs" });
    expect((await alice.next("error", (m) => m.inReplyTo === "subscription-prefs")).code).toBe("bad-message");
  });

  it("before join gets not-joined", async () => {
    const carol = await open("prefs-early");
    carol.send({ v: 1, type: "subscription-prefs", tracks: [{ trackId: "t", width: 1, height: 1 }] });
    await carol.error("not-joined");
  });

  it("with an unreachable node gets a typed media-node-error", async () => {
    const alice = await open("prefs-dead");
    await alice.join("Alice");
    alice.send({ v: 1, type: "subscription-prefs", tracks: [{ trackId: "t", width: 1, height: 1 }] });
    expect((await alice.next("error", (m) => m.inReplyTo === "subscription-prefs")).code).toBe("media-node-error");
  });
});

describe("POST /nodes/events layer-demand", () => {
  it("reaches the publisher (only) as publish-layers", async () => {
    const alice = await open("dynacast");
    const bob = await open("dynacast");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    await givePublishedTracks("dynacast", aliceId);
    const res = await signedPost("/nodes/events", { type: "layer-demand", nodeId: NODE_ID, room: "dynacast", participantId: aliceId, trackId: `${aliceId}:1`, rids: ["q", "h"] });
    expect(res.status).toBe(200);
    const msg = await alice.next("publish-layers");
    expect(msg).toEqual({ v: 1, type: "publish-layers", trackId: `${aliceId}:1`, rids: ["q", "h"] });
    await expect(bob.next("publish-layers", () => true, 300)).rejects.toThrow(/no "publish-layers"/);
  });

  it("is ignored from another node, for a track the participant does not publish, or for an audio track", async () => {
    const alice = await open("dynacast2");
    const { participantId: aliceId } = await alice.join("Alice");
    await givePublishedTracks("dynacast2", aliceId);
    const event = { type: "layer-demand", nodeId: NODE_ID, room: "dynacast2", participantId: aliceId, trackId: `${aliceId}:1`, rids: ["q"] };
    for (const body of [{ ...event, nodeId: "other-node" }, { ...event, trackId: "someone-else:1" }, { ...event, trackId: `${aliceId}:0` }, { ...event, participantId: "stranger" }]) {
      expect((await signedPost("/nodes/events", body)).status).toBe(200);
    }
    await expect(alice.next("publish-layers", () => true, 300)).rejects.toThrow(/no "publish-layers"/);
  });

  it.each([
    ["a bad rid", { rids: ["q;h"] }],
    ["too many rids", { rids: ["a", "b", "c", "d", "e", "f", "g", "h", "i"] }],
    ["no track id", { trackId: undefined }],
  ])("with %s is rejected with 400", async (_name, over) => {
    const body = { type: "layer-demand", nodeId: NODE_ID, room: "r", participantId: "p", trackId: "p:1", rids: ["q"], ...over };
    expect((await signedPost("/nodes/events", body)).status).toBe(400);
  });

  it("unsigned is refused", async () => {
    const res = await signedPost("/nodes/events", { type: "layer-demand", nodeId: NODE_ID, room: "r", participantId: "p", trackId: "p:1", rids: ["q"] }, { header: null });
    expect(res.status).toBe(401);
  });
});
