import { reset } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NodeCloseCode } from "@sfu/shared";
import { closeOpenedSockets, openRoomSocket, publishTracks, registerNode, roomStub, type FakeNode, type RoomSocket } from "./helpers.ts";

const NODE_ID = "fake-node";
const open = openRoomSocket;

/** The publisher publishes a video track, which the others see. */
const publishVideo = (publisher: RoomSocket, seenBy: RoomSocket[] = []) => publishTracks(node, publisher, [{ id: "t-video", kind: "video" }], seenBy);

let node: FakeNode;

beforeEach(async () => {
  await reset();
  node = await registerNode(NODE_ID);
});

afterEach(closeOpenedSockets);

describe("participant-failed from the node", () => {
  it("withdraws the participant's tracks from everyone and tells it to publish again", async () => {
    const alice = await open("failing");
    const bob = await open("failing");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    await publishVideo(alice, [bob]);

    node.event({ type: "participant-failed", room: "failing", participantId: aliceId });
    expect((await bob.next("participant-updated", (m) => m.participant.id === aliceId)).participant.tracks).toEqual([]);
    expect((await alice.error("media-failed")).message).toContain("publish again");
  });

  it("is ignored when it comes from a node that does not host the room", async () => {
    const alice = await open("other-node");
    const { participantId: aliceId } = await alice.join("Alice");
    await publishVideo(alice);

    const other = await registerNode("some-other-node");
    other.event({ type: "participant-failed", room: "other-node", participantId: aliceId });
    await expect(alice.error("media-failed", 300)).rejects.toThrow(/no "error" message/);
    const { participants } = await roomStub("other-node").summary();
    expect(participants.find((p) => p.id === aliceId)!.tracks).toHaveLength(1);
  });

  it.each([
    ["an unknown event type", { type: "event", event: { type: "reboot" } }],
    ["a bad room name", { type: "event", event: { type: "participant-failed", room: "no/slashes", participantId: "p" } }],
    ["a missing participant", { type: "event", event: { type: "participant-failed", room: "r" } }],
    ["not JSON", "{nope"],
  ])("with %s closes the node's socket as a protocol error", async (_name, msg) => {
    node.send(msg);
    expect((await node.closed).code).toBe(NodeCloseCode.protocolError);
  });
});

describe("restart-media from a browser whose PeerConnection failed", () => {
  it("withdraws its tracks from the others and tells it to publish again", async () => {
    const alice = await open("restarting");
    const bob = await open("restarting");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    await publishVideo(alice, [bob]);
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

describe("active-speaker from the node", () => {
  it("is broadcast to the room when it comes from the room's node", async () => {
    const alice = await open("speaking");
    const bob = await open("speaking");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    node.event({ type: "active-speaker", room: "speaking", participantId: aliceId });
    expect((await bob.next("active-speaker")).participantId).toBe(aliceId);
    expect((await alice.next("active-speaker")).participantId).toBe(aliceId);
  });

  it("is ignored from another node or for someone not in the room", async () => {
    const alice = await open("speaking2");
    const { participantId: aliceId } = await alice.join("Alice");
    (await registerNode("other-node")).event({ type: "active-speaker", room: "speaking2", participantId: aliceId });
    node.event({ type: "active-speaker", room: "speaking2", participantId: "stranger" });
    await expect(alice.next("active-speaker", () => true, 300)).rejects.toThrow(/no "active-speaker"/);
  });
});
