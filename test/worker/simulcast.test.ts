import { reset } from "cloudflare:test";
import { NodeCloseCode } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeOpenedSockets, openRoomSocket, publishTracks, registerNode, type FakeNode, type RoomSocket } from "./helpers.ts";

const NODE_ID = "fake-node";
const open = openRoomSocket;

/** The publisher publishes an audio and a video track. */
const publishAudioAndVideo = (publisher: RoomSocket, participantId: string, seenBy: RoomSocket[] = []) =>
  publishTracks(node, publisher, [{ id: `${participantId}:0`, kind: "audio" }, { id: `${participantId}:1`, kind: "video" }], seenBy);

let node: FakeNode;

beforeEach(async () => {
  await reset();
  node = await registerNode(NODE_ID);
});

afterEach(closeOpenedSockets);

describe("subscription-prefs", () => {
  it("is relayed to the room's node as a preferences request", async () => {
    const alice = await open("prefs");
    const { participantId } = await alice.join("Alice");
    node.answer = () => ({ body: {} });
    const tracks = [{ trackId: "bob:1", width: 160, height: 120 }, { trackId: "carol:1", width: 0, height: 0 }];
    alice.send({ v: 1, type: "subscription-prefs", tracks });
    await expect.poll(() => node.sent("preferences").length).toBe(1);
    expect(node.sent("preferences")[0]!.body).toEqual({ room: "prefs", participantId, tracks });
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
    alice.send({ v: 1, type: "subscription-prefs", tracks });
    const err = await alice.next("error", (m) => m.inReplyTo === "subscription-prefs");
    expect(err.code).toBe("bad-message");
    // A valid message after it is relayed, and is the only call: the bad one changed nothing.
    alice.send({ v: 1, type: "subscription-prefs", tracks: [{ trackId: "ok", width: 1, height: 1 }] });
    await expect.poll(() => node.sent("preferences").length).toBe(1);
    expect(node.sent("preferences")[0]!.body).toMatchObject({ tracks: [{ trackId: "ok", width: 1, height: 1 }] });
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

  it("refused by the node gets a typed media-node-error", async () => {
    const alice = await open("prefs-dead");
    await alice.join("Alice");
    alice.send({ v: 1, type: "subscription-prefs", tracks: [{ trackId: "t", width: 1, height: 1 }] });
    expect((await alice.next("error", (m) => m.inReplyTo === "subscription-prefs")).code).toBe("media-node-error");
  });
});

describe("layer-demand from the node", () => {
  it("reaches the publisher (only) as publish-layers", async () => {
    const alice = await open("dynacast");
    const bob = await open("dynacast");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    await publishAudioAndVideo(alice, aliceId, [bob]);
    node.event({ type: "layer-demand", room: "dynacast", participantId: aliceId, trackId: `${aliceId}:1`, rids: ["q", "h"] });
    const msg = await alice.next("publish-layers");
    expect(msg).toEqual({ v: 1, type: "publish-layers", trackId: `${aliceId}:1`, rids: ["q", "h"] });
    await expect(bob.next("publish-layers", () => true, 300)).rejects.toThrow(/no "publish-layers"/);
  });

  it("is ignored from another node, for a track the participant does not publish, or for an audio track", async () => {
    const alice = await open("dynacast2");
    const { participantId: aliceId } = await alice.join("Alice");
    await publishAudioAndVideo(alice, aliceId);
    const event = { type: "layer-demand" as const, room: "dynacast2", participantId: aliceId, trackId: `${aliceId}:1`, rids: ["q"] };
    (await registerNode("other-node")).event(event);
    for (const e of [{ ...event, trackId: "someone-else:1" }, { ...event, trackId: `${aliceId}:0` }, { ...event, participantId: "stranger" }]) node.event(e);
    await expect(alice.next("publish-layers", () => true, 300)).rejects.toThrow(/no "publish-layers"/);
  });

  it.each([
    ["a bad rid", { rids: ["q;h"] }],
    ["too many rids", { rids: ["a", "b", "c", "d", "e", "f", "g", "h", "i"] }],
    ["no track id", { trackId: undefined }],
  ])("with %s closes the node's socket as a protocol error", async (_name, over) => {
    node.send({ type: "event", event: { type: "layer-demand", room: "r", participantId: "p", trackId: "p:1", rids: ["q"], ...over } });
    expect((await node.closed).code).toBe(NodeCloseCode.protocolError);
  });
});
