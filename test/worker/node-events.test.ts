import { env, reset, runInDurableObject } from "cloudflare:test";
import type { ParticipantInfo } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RoomDO } from "../../worker/src/room-do.ts";
import { closeOpenedSockets, openRoomSocket, registerNode, RoomSocket, signedPost } from "./helpers.ts";

const NODE_ID = "fake-node";
const open = openRoomSocket;

/** Gives a participant published tracks, as a successful publish would. */
async function givePublishedTracks(room: string, participantId: string): Promise<void> {
  await runInDurableObject(env.ROOMS.get(env.ROOMS.idFromName(room)), async (instance: RoomDO, state) => {
    const p = (instance as unknown as { participants: Map<string, ParticipantInfo> }).participants.get(participantId)!;
    p.tracks = [{ id: "t-video", kind: "video", muted: false }];
    await state.storage.put(`p:${participantId}`, p);
  });
}

beforeEach(async () => {
  await reset();
  await registerNode(NODE_ID);
});

afterEach(closeOpenedSockets);

describe("POST /nodes/events participant-failed", () => {
  it("withdraws the participant's tracks from everyone and tells it to publish again", async () => {
    const alice = await open("failing");
    const bob = await open("failing");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    await givePublishedTracks("failing", aliceId);

    const res = await signedPost("/nodes/events", { type: "participant-failed", nodeId: NODE_ID, room: "failing", participantId: aliceId });
    expect(res.status).toBe(200);
    expect((await bob.next("participant-updated", (m) => m.participant.id === aliceId)).participant.tracks).toEqual([]);
    expect((await alice.error("media-failed")).message).toContain("publish again");
  });

  it("is ignored when it comes from a node that does not host the room", async () => {
    const alice = await open("other-node");
    const { participantId: aliceId } = await alice.join("Alice");
    await givePublishedTracks("other-node", aliceId);

    const res = await signedPost("/nodes/events", { type: "participant-failed", nodeId: "some-other-node", room: "other-node", participantId: aliceId });
    expect(res.status).toBe(200);
    await expect(alice.error("media-failed", 300)).rejects.toThrow(/no "error" message/);
    const tracks = await runInDurableObject(env.ROOMS.get(env.ROOMS.idFromName("other-node")), (instance: RoomDO) =>
      (instance as unknown as { participants: Map<string, ParticipantInfo> }).participants.get(aliceId)!.tracks);
    expect(tracks).toHaveLength(1);
  });

  it.each([
    ["unsigned", { header: null }, 401],
    ["signed with another secret", { secret: "not-the-fleet-secret-at-all" }, 401],
  ] as const)("is refused when %s", async (_name, opts, status) => {
    const res = await signedPost("/nodes/events", { type: "participant-failed", nodeId: NODE_ID, room: "r", participantId: "p" }, opts);
    expect(res.status).toBe(status);
  });

  it.each([
    ["an unknown event type", { type: "reboot", nodeId: NODE_ID }],
    ["a bad room name", { type: "participant-failed", nodeId: NODE_ID, room: "no/slashes", participantId: "p" }],
    ["a missing participant", { type: "participant-failed", nodeId: NODE_ID, room: "r" }],
  ])("rejects %s with 400", async (_name, body) => {
    const res = await signedPost("/nodes/events", body);
    expect(res.status).toBe(400);
  });
});

describe("restart-media from a browser whose PeerConnection failed", () => {
  it("withdraws its tracks from the others and tells it to publish again", async () => {
    const alice = await open("restarting");
    const bob = await open("restarting");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    await givePublishedTracks("restarting", aliceId);
    alice.send({ v: 1, type: "restart-media" });
    expect((await bob.next("participant-updated", (m) => m.participant.id === aliceId)).participant.tracks).toEqual([]);
    await alice.error("media-failed");
  });

  it("before join gets not-joined", async () => {
    const carol = await open("restarting-early");
    carol.send({ v: 1, type: "restart-media" });
    await carol.error("not-joined");
  });
});

describe("POST /nodes/events active-speaker", () => {
  it("is broadcast to the room when it comes from the room's node", async () => {
    const alice = await open("speaking");
    const bob = await open("speaking");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    const res = await signedPost("/nodes/events", { type: "active-speaker", nodeId: NODE_ID, room: "speaking", participantId: aliceId });
    expect(res.status).toBe(200);
    expect((await bob.next("active-speaker")).participantId).toBe(aliceId);
    expect((await alice.next("active-speaker")).participantId).toBe(aliceId);
  });

  it("is ignored from another node or for someone not in the room", async () => {
    const alice = await open("speaking2");
    const { participantId: aliceId } = await alice.join("Alice");
    await signedPost("/nodes/events", { type: "active-speaker", nodeId: "other-node", room: "speaking2", participantId: aliceId });
    await signedPost("/nodes/events", { type: "active-speaker", nodeId: NODE_ID, room: "speaking2", participantId: "stranger" });
    await expect(alice.next("active-speaker", () => true, 300)).rejects.toThrow(/no "active-speaker"/);
  });
});
