import { abortAllDurableObjects, env, reset, runInDurableObject, SELF } from "cloudflare:test";
import { CloseCode, MAX_SIGNAL_BYTES } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RoomCore } from "../../worker/src/room/core.ts";
import { BASE, closeOpenedSockets, eventually, openRoomSocket, publishTracks, registerNode, roomStub, roster, storedRoom as stored, type FakeNode } from "./helpers.ts";

const registryRooms = () => env.REGISTRY.get(env.REGISTRY.idFromName("global")).rooms();

const NODE_ID = "fake-node";
const open = openRoomSocket;

beforeEach(async () => {
  await reset();
});

afterEach(closeOpenedSockets);

describe("HTTP routing to rooms", () => {
  it.each([
    ["a dot", "bad.name"],
    ["a space", "a%20b"],
    ["65 characters", "r".repeat(65)],
    ["a non-ASCII letter", "r%C3%BCm"],
  ])("a room name with %s gets 400", async (_name, room) => {
    const res = await SELF.fetch(`${BASE}/rooms/${room}/ws`, { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "bad-room-name" });
    expect(res.webSocket).toBeNull();
  });

  it("a request without Upgrade: websocket gets 426", async () => {
    const res = await SELF.fetch(`${BASE}/rooms/lobby/ws`);
    expect(res.status).toBe(426);
    expect(await res.json()).toMatchObject({ error: "upgrade-required" });
  });

  it("a non-websocket Upgrade gets 426", async () => {
    const res = await SELF.fetch(`${BASE}/rooms/lobby/ws`, { headers: { Upgrade: "h2c" } });
    expect(res.status).toBe(426);
  });

  it("an upgrade to a valid room name gets 101 with a WebSocket", async () => {
    const s = await open("valid_Room-1");
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
    expect((await stored("valid_Room-1")).room).toEqual({ name: "valid_Room-1", node: null });
  });
});

describe("joining and leaving", () => {
  beforeEach(async () => {
    await registerNode(NODE_ID);
  });

  it("two participants each get the roster; the first is told about the second", async () => {
    const alice = await open("r1");
    const aliceJoined = await alice.join("Alice");
    expect(aliceJoined.room).toBe("r1");
    expect(aliceJoined.participants).toEqual([{ id: aliceJoined.participantId, name: "Alice", tracks: [] }]);

    const bob = await open("r1");
    const bobJoined = await bob.join("Bob");
    expect(bobJoined.participantId).not.toBe(aliceJoined.participantId);
    expect(bobJoined.participants.map((p) => [p.id, p.name]).sort()).toEqual(
      [[aliceJoined.participantId, "Alice"], [bobJoined.participantId, "Bob"]].sort(),
    );

    const told = await alice.next("participant-joined");
    expect(told.participant).toEqual({ id: bobJoined.participantId, name: "Bob", tracks: [] });
    expect(bob.received.some((m) => m.type === "participant-joined")).toBe(false);
    expect(await roster("r1")).toEqual(["Alice", "Bob"]);
  });

  it("rooms are independent", async () => {
    const a = await open("room-a");
    const b = await open("room-b");
    await a.join("A");
    const bJoined = await b.join("B");
    expect(bJoined.room).toBe("room-b");
    expect(bJoined.participants.map((p) => p.name)).toEqual(["B"]);
  });

  it("a leave message tells the others and closes the leaver's socket normally", async () => {
    const alice = await open("r2");
    const bob = await open("r2");
    await alice.join("Alice");
    const { participantId: bobId } = await bob.join("Bob");

    bob.send({ v: 1, type: "leave" });
    expect((await alice.next("participant-left")).participantId).toBe(bobId);
    expect(await bob.closed).toMatchObject({ code: CloseCode.normal });
    expect(await roster("r2")).toEqual(["Alice"]);
    expect((await stored("r2")).participants.map((p) => p.name)).toEqual(["Alice"]);
  });

  it("closing a socket tells the others the participant left", async () => {
    const alice = await open("r3");
    const bob = await open("r3");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");

    alice.close(1000, "tab closed");
    expect((await bob.next("participant-left")).participantId).toBe(aliceId);
    expect(await roster("r3")).toEqual(["Bob"]);
  });

  it("the last participant leaving frees the room's node assignment, and the empty room leaves storage", async () => {
    const alice = await open("r4");
    await alice.join("Alice");
    expect((await stored("r4")).room?.node).toEqual({ id: NODE_ID });
    alice.send({ v: 1, type: "leave" });
    await alice.closed;
    await eventually(async () => {
      expect(await stored("r4")).toEqual({ room: null, participants: [], chat: [] });
      expect((await registryRooms()).map((r) => r.room)).not.toContain("r4");
    });
    await runInDurableObject(roomStub("r4"), async (_i, state) => {
      expect(await state.storage.list()).toEqual(new Map());
      expect(await state.storage.getAlarm()).toBeNull();
    });
  });

  it("a socket that outlived the emptied room's storage (a hibernated object waking with none) can still join", async () => {
    const alice = await open("r4b");
    await alice.join("Alice");
    const bob = await open("r4b");
    alice.send({ v: 1, type: "leave" });
    await alice.closed;
    await eventually(async () => expect(await stored("r4b")).toEqual({ room: null, participants: [], chat: [] }));
    // As the object would wake from hibernation: its state is what storage holds, i.e. nothing.
    await runInDurableObject(roomStub("r4b"), (instance) => {
      (instance as unknown as { core: RoomCore }).core = new RoomCore({ room: null, participants: [] }, 300);
    });
    const joined = await bob.join("Bob");
    expect(joined.participants.map((p) => p.name)).toEqual(["Bob"]);
    expect((await stored("r4b")).room).toEqual({ name: "r4b", node: { id: NODE_ID } });
  });

  it("a socket that closes without joining leaves no room in storage", async () => {
    const s = await open("r4c");
    expect((await stored("r4c")).room).toEqual({ name: "r4c", node: null });
    s.close();
    await eventually(async () => expect(await stored("r4c")).toEqual({ room: null, participants: [], chat: [] }));
  });

  it("a join with display-name whitespace is trimmed in the roster", async () => {
    const s = await open("r5");
    const joined = await s.join("  Carol  ");
    expect(joined.participants[0]!.name).toBe("Carol");
  });
});

describe("bad messages", () => {
  beforeEach(async () => {
    await registerNode(NODE_ID);
  });

  it("malformed JSON gets bad-message and the socket stays usable", async () => {
    const s = await open("bad1");
    s.send("{not json");
    const err = await s.error("bad-message");
    expect(err.message).toMatch(/JSON/);
    expect((await s.join("Alice")).participants.map((p) => p.name)).toEqual(["Alice"]);
  });

  it("an unknown message type gets bad-message naming it", async () => {
    const s = await open("bad2");
    s.send({ v: 1, type: "dance" });
    expect(await s.error("bad-message")).toMatchObject({ inReplyTo: "dance" });
  });

  it("a join with an empty name gets bad-message and does not join", async () => {
    const s = await open("bad3");
    s.send({ v: 1, type: "join", name: "   " });
    expect(await s.error("bad-message")).toMatchObject({ inReplyTo: "join" });
    expect(await roster("bad3")).toEqual([]);
  });

  it("an oversized message gets message-too-large and the socket stays usable", async () => {
    const s = await open("big");
    s.send({ v: 1, type: "join", name: "A", pad: "x".repeat(MAX_SIGNAL_BYTES) });
    await s.error("message-too-large");
    expect(await roster("big")).toEqual([]);
    await s.join("Alice");
  });

  it("a binary frame gets bad-message", async () => {
    const s = await open("bin");
    s.ws.send(new TextEncoder().encode(JSON.stringify({ v: 1, type: "join", name: "A" })));
    expect((await s.error("bad-message")).message).toMatch(/binary/);
    expect(await roster("bin")).toEqual([]);
  });

  it("a wrong protocol version gets unsupported-version and the socket is closed with 4001", async () => {
    const s = await open("ver");
    s.send({ v: 2, type: "join", name: "Alice" });
    expect(await s.error("unsupported-version")).toMatchObject({ inReplyTo: "join" });
    expect((await s.closed).code).toBe(CloseCode.unsupportedVersion);
    expect(await roster("ver")).toEqual([]);
  });

  it.each([
    ["publish", { type: "publish", sdp: "v=0" }],
    ["subscriber-answer", { type: "subscriber-answer", sdp: "v=0" }],
    ["ice-candidate", { type: "ice-candidate", target: "publisher", candidate: { candidate: "" } }],
    ["set-muted", { type: "set-muted", kind: "audio", muted: true }],
  ])("%s before join gets not-joined", async (type, body) => {
    const s = await open("early");
    s.send({ v: 1, ...body });
    expect(await s.error("not-joined")).toMatchObject({ inReplyTo: type });
  });

  it("leave before join just closes the socket", async () => {
    const s = await open("early-leave");
    s.send({ v: 1, type: "leave" });
    expect((await s.closed).code).toBe(CloseCode.normal);
    expect(s.received.filter((m) => m.type === "error")).toEqual([]);
  });

  it("a second join on the same socket gets already-joined and changes nothing", async () => {
    const alice = await open("twice");
    const bob = await open("twice");
    await alice.join("Alice");
    await bob.join("Bob");
    await alice.next("participant-joined");

    bob.send({ v: 1, type: "join", name: "Bobby" });
    expect(await bob.error("already-joined")).toMatchObject({ inReplyTo: "join" });
    expect(await roster("twice")).toEqual(["Alice", "Bob"]);
    expect((await stored("twice")).participants.map((p) => p.name).sort()).toEqual(["Alice", "Bob"]);
    // Alice was told about Bob exactly once.
    expect(alice.received.filter((m) => m.type === "participant-joined")).toHaveLength(1);
  });
});

describe("talking to the media node", () => {
  let node: FakeNode;

  beforeEach(async () => {
    node = await registerNode(NODE_ID);
  });

  it("set-muted is broadcast to everyone as participant-updated and stored", async () => {
    const alice = await open("mute");
    const bob = await open("mute");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    await publishTracks(node, alice, [{ id: "t-audio", kind: "audio" }, { id: "t-video", kind: "video" }], [bob]);

    alice.send({ v: 1, type: "set-muted", kind: "audio", muted: true });
    const expected = {
      id: aliceId,
      name: "Alice",
      tracks: [
        { id: "t-audio", kind: "audio", muted: true, source: "microphone" },
        { id: "t-video", kind: "video", muted: false, source: "camera" },
      ],
    };
    expect((await bob.next("participant-updated")).participant).toEqual(expected);
    expect((await alice.next("participant-updated")).participant).toEqual(expected);
    const saved = (await stored("mute")).participants.find((p) => p.id === aliceId)!;
    expect(saved.tracks).toEqual(expected.tracks);
  });

  it("set-muted without published tracks is still broadcast", async () => {
    const alice = await open("mute2");
    const bob = await open("mute2");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    alice.send({ v: 1, type: "set-muted", kind: "video", muted: true });
    expect((await bob.next("participant-updated")).participant).toEqual({ id: aliceId, name: "Alice", tracks: [] });
  });

  it("publish the node refuses gets a typed media-node-error and changes no tracks", async () => {
    const s = await open("pub");
    const { participantId } = await s.join("Alice");
    s.send({ v: 1, type: "publish", sdp: "v=0\r\n" });
    const err = await s.next("error", (m) => m.inReplyTo === "publish");
    expect(err.code).toBe("media-node-error");
    // Plain words for the code: what the node said (and its id) stays in the worker's log.
    expect(err.message).toBe("the media server could not do that; try again");
    expect(err.message).not.toMatch(/no media here|fake-node/);
    expect((await stored("pub")).participants.find((p) => p.id === participantId)!.tracks).toEqual([]);
  });

  it("candidates the node cannot use (mDNS, TCP, end-of-candidates) are not forwarded", async () => {
    const s = await open("ice-filter");
    const { participantId } = await s.join("Alice");
    await s.error("media-node-error"); // the join's subscriber offer, refused by the test node
    for (const candidate of ["candidate:1 1 udp 2122260223 abcd.local 50000 typ host", "candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active", ""]) {
      s.send({ v: 1, type: "ice-candidate", target: "publisher", candidate: { candidate } });
    }
    // Then one the node can use: only it reaches the node, which refuses it.
    s.send({ v: 1, type: "ice-candidate", target: "subscriber", candidate: { candidate: "candidate:3 1 udp 2122260223 10.0.0.1 50000 typ host" } });
    await s.next("error", (m) => m.inReplyTo === "ice-candidate");
    // A later queued message proves the room has processed everything sent before it.
    s.send({ v: 1, type: "set-muted", kind: "audio", muted: true });
    expect((await s.next("participant-updated")).participant.id).toBe(participantId);
    expect(s.received.filter((m) => m.type === "error" && m.inReplyTo === "ice-candidate")).toHaveLength(1);
  });

  it("ice-candidate the node refuses gets media-node-error", async () => {
    const s = await open("ice");
    await s.join("Alice");
    s.send({ v: 1, type: "ice-candidate", target: "publisher", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host" } });
    expect((await s.next("error", (m) => m.inReplyTo === "ice-candidate")).code).toBe("media-node-error");
  });
});

describe("without a media node", () => {
  it("join gets no-media-node and adds no participant; a later join succeeds once a node registers", async () => {
    const s = await open("empty");
    s.send({ v: 1, type: "join", name: "Alice" });
    const err = await s.error("no-media-node");
    expect(err.inReplyTo).toBe("join");
    expect(await roster("empty")).toEqual([]);
    expect(await stored("empty")).toEqual({ room: { name: "empty", node: null }, participants: [], chat: [] });

    await registerNode(NODE_ID);
    const joined = await s.join("Alice");
    expect(joined.participants.map((p) => p.name)).toEqual(["Alice"]);
    expect((await stored("empty")).room?.node).toEqual({ id: NODE_ID });
  });

  it("a stale node is not given the room", async () => {
    await registerNode(NODE_ID);
    // Age the node past NODE_STALE_MS (15 s in tests) by rewriting its stored heartbeat.
    const registry = env.REGISTRY.get(env.REGISTRY.idFromName("global"));
    await runInDurableObject(registry, async (instance, state) => {
      const nodes = (instance as unknown as { nodes: Map<string, { lastHeartbeat: number }> }).nodes;
      const node = nodes.get(NODE_ID)!;
      node.lastHeartbeat = Date.now() - 60_000;
      await state.storage.put(`node:${NODE_ID}`, node);
    });
    const s = await open("stale");
    s.send({ v: 1, type: "join", name: "Alice" });
    await s.error("no-media-node");
    expect(await roster("stale")).toEqual([]);
  });
});

describe("room state in Durable Object storage", () => {
  beforeEach(async () => {
    await registerNode(NODE_ID);
  });

  it("joins store the participant records and the node assignment", async () => {
    const alice = await open("persist");
    const bob = await open("persist");
    const a = await alice.join("Alice");
    const b = await bob.join("Bob");

    const s = await stored("persist");
    expect(s.room).toEqual({ name: "persist", node: { id: NODE_ID } });
    expect(s.participants.map(({ id, name, tracks }) => ({ id, name, tracks })).sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { id: a.participantId, name: "Alice", tracks: [] },
      { id: b.participantId, name: "Bob", tracks: [] },
    ]);
    for (const p of s.participants) expect(typeof p.joinedAt).toBe("number");
  });

  it("after the sockets close, the roster and stored participants are empty", async () => {
    const alice = await open("closing");
    const bob = await open("closing");
    await alice.join("Alice");
    await bob.join("Bob");
    alice.close();
    bob.close();
    await eventually(async () => {
      expect(await roster("closing")).toEqual([]);
      expect((await stored("closing")).participants).toEqual([]);
    });
    // A newcomer sees only themself.
    const carol = await open("closing");
    expect((await carol.join("Carol")).participants.map((p) => p.name)).toEqual(["Carol"]);
  });

  it("a restart that drops the sockets empties the roster after the resume grace period, and the room is placed afresh", async () => {
    const alice = await open("restart");
    const bob = await open("restart");
    await alice.join("Alice");
    await bob.join("Bob");
    expect((await stored("restart")).participants).toHaveLength(2);

    await abortAllDurableObjects();
    expect((await alice.closed).code).not.toBe(CloseCode.normal);
    await bob.closed;

    // The restarted object keeps the room; participants whose sockets are gone may resume for
    // RESUME_GRACE_MS (300 ms in tests), then the alarm removes them.
    // (The roster empties as the last one is removed; its node is freed and the record stored after that.)
    await eventually(async () => {
      expect(await roster("restart")).toEqual([]);
      // The empty room leaves storage.
      expect(await stored("restart")).toEqual({ room: null, participants: [], chat: [] });
    });

    // A newcomer gets a room with only themself, placed afresh: "other-node" is now the least loaded
    // (fake-node still counts the room placed on it before the restart).
    await registerNode("other-node");
    const carol = await open("restart");
    const joined = await carol.join("Carol");
    expect(joined.participants.map((p) => p.name)).toEqual(["Carol"]);
    expect((await stored("restart")).room?.node).toEqual({ id: "other-node" });
  });
});
