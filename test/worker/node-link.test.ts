import { abortAllDurableObjects, env, reset, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { NODE_CALL_TIMEOUT_MS, NODE_PROOF_MAX_SKEW_MS, NodeCloseCode, signNodeProof } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MediaNodeDO } from "../../worker/src/node-do.ts";
import type { NodeRecord } from "../../worker/src/placement.ts";
import { callNode, NodeCallError } from "../../worker/src/node-link.ts";
import { closeOpenedSockets, connectNodeSocket, FakeNode, healthyNodes, IDLE_LOAD, nodeKey, nodeProof, openRoomSocket, registerNode, storedNode } from "./helpers.ts";

const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName("global"));
const nodeObject = (nodeId: string) => env.NODES.get(env.NODES.idFromName(nodeId));
const storedNodes = () => runInDurableObject(registry(), (_i, state) => state.storage.list<NodeRecord>({ prefix: "node:" }));
const LOAD = { rooms: 3, participants: 7, tracks: 12, cpu: 0.25 };
const hex = (s: string) => Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");

beforeEach(async () => {
  await reset();
});

afterEach(closeOpenedSockets);

describe("connecting a node is refused before any socket exists", () => {
  const now = Date.now;
  it.each([
    ["without a proof", async () => null, "missing"],
    ["with a malformed proof", async () => "v2,node-a,nothex", "malformed"],
    ["with a proof of the old version (v1)", async () => (await nodeProof("node-a", now())).replace("v2,", "v1,"), "malformed"],
    ["signed with a key not derived from the fleet secret", async () => signNodeProof("ab".repeat(32), "node-a", "instance-1", now()), "bad-signature"],
    ["signed with the fleet secret itself", async () => signNodeProof(hex(env.FLEET_SECRET).slice(0, 64), "node-a", "instance-1", now()), "bad-signature"],
    ["expired", async () => nodeProof("node-a", now() - NODE_PROOF_MAX_SKEW_MS - 1000), "expired"],
    ["from the future", async () => nodeProof("node-a", now() + NODE_PROOF_MAX_SKEW_MS + 1000), "expired"],
    ["for another node id (signature over node-b)", async () => (await nodeProof("node-b", now())).replace("v2,node-b,", "v2,node-a,"), "bad-signature"],
    ["claiming node-a, signed with node-b's own credential", async () => signNodeProof(await nodeKey("node-b"), "node-a", "instance-1", now()), "bad-signature"],
  ])("%s", async (_name, proof, reason) => {
    const res = await connectNodeSocket("node-a", { proof: await proof() });
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
    expect(await res.json()).toMatchObject({ error: "unauthorized", message: `node proof refused: ${reason}` });
    expect(await healthyNodes()).toBe(0);
    expect((await storedNodes()).size).toBe(0);
  });

  it("when the proof was already used (a replay), even inside its lifetime", async () => {
    const proof = await nodeProof("node-r", Date.now());
    const first = await connectNodeSocket("node-r", { proof });
    expect(first.status).toBe(101);
    first.webSocket!.accept();
    const replay = await connectNodeSocket("node-r", { proof });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ message: "replayed proof" });
    // ... and an older one, captured earlier, is no better.
    const older = await connectNodeSocket("node-r", { proof: await nodeProof("node-r", Date.now() - 5000) });
    expect(older.status).toBe(401);
    first.webSocket!.close();
  });
});

describe("a node's credential is bound to its node id", () => {
  it("node A's credential cannot connect as node B, nor replace B's socket or record", async () => {
    const { node: b } = await FakeNode.connect("node-b", { region: "eu", capacity: 50 }, { instanceId: "instance-b" });
    const keyOfA = await nodeKey("node-a");
    const impostor = await connectNodeSocket("node-b", { proof: await signNodeProof(keyOfA, "node-b", "instance-evil", Date.now()) });
    expect(impostor.status).toBe(401);
    expect(impostor.webSocket).toBeNull();
    expect(await impostor.json()).toMatchObject({ error: "unauthorized", message: "node proof refused: bad-signature" });
    expect((await storedNodes()).get("node:node-b")).toMatchObject({ instanceId: "instance-b", region: "eu", capacity: 50, connected: true });
    // B's own socket is still the trusted one: its heartbeat is acknowledged.
    b.event({ type: "heartbeat", load: IDLE_LOAD });
    await b.next("heartbeat-ack");
    // A's credential still works for A.
    const own = await connectNodeSocket("node-a", { proof: await signNodeProof(keyOfA, "node-a", "instance-a", Date.now()) });
    expect(own.status).toBe(101);
    own.webSocket!.accept();
    own.webSocket!.close();
  });
});

describe("a connected node", () => {
  it("is registered on hello with its region, capacity and load, and is healthy", async () => {
    const { welcome } = await FakeNode.connect("node-a", { region: "eu", capacity: 250, load: LOAD });
    expect(welcome).toMatchObject({ type: "welcome", keepRooms: [] });
    expect(await healthyNodes()).toBe(1);
    expect((await storedNodes()).get("node:node-a")).toMatchObject({ id: "node-a", instanceId: "instance-1", connected: true, region: "eu", capacity: 250, load: LOAD, draining: false });
  });

  it("heartbeats are acknowledged and update its load", async () => {
    const node = await registerNode("node-a");
    const ack = node.next("heartbeat-ack");
    node.event({ type: "heartbeat", load: LOAD });
    await ack;
    expect((await storedNodes()).get("node:node-a")!.load).toEqual(LOAD);
  });

  it("only speaks for its own node id: events name no node, rooms on other nodes ignore it", async () => {
    await registerNode("node-a");
    const alice = await openRoomSocket("owned");
    const { participantId } = await alice.join("Alice");
    const intruder = await registerNode("node-b");
    intruder.event({ type: "participant-failed", room: "owned", participantId });
    intruder.event({ type: "active-speaker", room: "owned", participantId });
    await expect(alice.next("error", (m) => m.code === "media-failed", 300)).rejects.toThrow(/no "error"/);
    await expect(alice.next("active-speaker", () => true, 100)).rejects.toThrow(/no "active-speaker"/);
  });

  it("a second socket for the same node id replaces the first", async () => {
    const { node: first } = await FakeNode.connect("node-a");
    const { node: second } = await FakeNode.connect("node-a");
    expect((await first.closed).code).toBe(NodeCloseCode.replaced);
    expect(await healthyNodes()).toBe(1);
    second.close();
  });

  it("must say hello before anything else, in this protocol version", async () => {
    const res = await connectNodeSocket("node-h");
    const ws = res.webSocket!;
    ws.accept();
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    ws.send(JSON.stringify({ type: "event", event: { type: "heartbeat", load: IDLE_LOAD } }));
    expect(await closed).toBe(NodeCloseCode.protocolError);

    const res2 = await connectNodeSocket("node-v");
    const ws2 = res2.webSocket!;
    ws2.accept();
    const closed2 = new Promise<number>((resolve) => ws2.addEventListener("close", (e) => resolve(e.code)));
    ws2.send(JSON.stringify({ type: "hello", version: 99, region: "local", capacity: 1, load: IDLE_LOAD, rooms: [] }));
    expect(await closed2).toBe(NodeCloseCode.unsupportedVersion);
    expect(await healthyNodes()).toBe(0);
  });

  it("oversized messages close the socket as a protocol error", async () => {
    const node = await registerNode("node-a");
    node.send({ type: "event", event: { type: "heartbeat", load: IDLE_LOAD }, padding: "x".repeat(200_000) });
    expect((await node.closed).code).toBe(NodeCloseCode.protocolError);
  });

  it("the registry keeps it across a restart of the registry object", async () => {
    await registerNode("node-a");
    await registerNode("node-b");
    await abortAllDurableObjects();
    expect((await storedNodes()).size).toBe(2);
  });
});

describe("requests to a node", () => {
  it("carry the typed body and come back validated against the action's response schema", async () => {
    const node = await registerNode("node-a");
    node.answer = (req) => (req.action === "remove" ? { body: { removedTracks: ["t1"] } } : { body: { nonsense: true } });
    await expect(callNode(env, "node-a", "remove", { room: "r", participantId: "p" })).resolves.toEqual({ removedTracks: ["t1"] });
    expect(node.sent("remove")[0]!.body).toEqual({ room: "r", participantId: "p" });
    const bad = await callNode(env, "node-a", "subscriber-offer", { room: "r", participantId: "p" }).catch((e: NodeCallError) => e);
    expect(bad).toBeInstanceOf(NodeCallError);
    expect((bad as NodeCallError).code).toBe("internal");
  });

  it("a typed error from the node reaches the caller with its code", async () => {
    const node = await registerNode("node-a");
    node.answer = () => ({ error: "negotiation-failed", message: "bad sdp" });
    const err = await callNode(env, "node-a", "publish", { room: "r", participantId: "p", sdp: "v=0" }).catch((e: NodeCallError) => e);
    expect(err).toMatchObject({ code: "negotiation-failed", message: "bad sdp" });
  });

  it("fail at once as unreachable for a node that is not connected, and when its socket closes mid-call", async () => {
    await expect(callNode(env, "nobody", "remove", { room: "r", participantId: "p" })).rejects.toMatchObject({ code: "unreachable" });
    const node = await registerNode("node-a");
    node.answer = () => "ignore";
    const pending = callNode(env, "node-a", "remove", { room: "r", participantId: "p" }).catch((e: NodeCallError) => e);
    await expect.poll(() => node.requests.length).toBe(1);
    node.close();
    expect(await pending).toMatchObject({ code: "unreachable" });
  });

  it(`time out after ${NODE_CALL_TIMEOUT_MS} ms when the node never answers`, { timeout: NODE_CALL_TIMEOUT_MS + 5000 }, async () => {
    const node = await registerNode("node-a");
    node.answer = () => "ignore";
    const err = await callNode(env, "node-a", "remove", { room: "r", participantId: "p" }).catch((e: NodeCallError) => e);
    expect(err).toMatchObject({ code: "timeout" });
  });
});

describe("losing a node", () => {
  /** Lets the node's object run its alarm, as if the reconnect grace (200 ms in tests) had passed. */
  async function afterGrace(nodeId: string): Promise<void> {
    await new Promise((r) => setTimeout(r, 250));
    await runDurableObjectAlarm(nodeObject(nodeId));
  }

  it("a socket that closes and stays closed past the grace moves the node's rooms", async () => {
    const { node } = await FakeNode.connect("node-a");
    const alice = await openRoomSocket("moving");
    await alice.join("Alice");
    await registerNode("node-b");
    node.close(1011);
    await afterGrace("node-a");
    await alice.error("media-failed");
    expect(await storedNode("moving")).toBe("node-b");
    expect((await storedNodes()).get("node:node-a")!.connected).toBe(false);
  });

  it("a node that closes its socket normally (it is stopping) is down at once, without waiting for the grace", async () => {
    const { node } = await FakeNode.connect("node-a");
    const alice = await openRoomSocket("stopping");
    await alice.join("Alice");
    await registerNode("node-b");
    node.close(1000);
    await alice.error("media-failed");
    expect(await storedNode("stopping")).toBe("node-b");
  });

  it("the same process reconnecting within the grace keeps its rooms", async () => {
    const { node } = await FakeNode.connect("node-a", {}, { instanceId: "same-process" });
    const alice = await openRoomSocket("kept");
    await alice.join("Alice");
    await registerNode("node-b");
    node.close(1011);
    const { node: back, welcome } = await FakeNode.connect("node-a", { rooms: ["kept"] }, { instanceId: "same-process" });
    expect(welcome.keepRooms).toEqual(["kept"]);
    await afterGrace("node-a");
    await expect(alice.error("media-failed", 300)).rejects.toThrow(/no "error"/);
    expect(await storedNode("kept")).toBe("node-a");
    back.close();
  });

  it("a restarted process (another instance) has its rooms moved at once and keeps none", async () => {
    const { node } = await FakeNode.connect("node-a", {}, { instanceId: "first-process" });
    const alice = await openRoomSocket("restarted");
    await alice.join("Alice");
    await registerNode("node-b");
    node.close();
    const { node: back, welcome } = await FakeNode.connect("node-a", { rooms: ["restarted"] }, { instanceId: "second-process" });
    expect(welcome.keepRooms).toEqual([]);
    await alice.error("media-failed");
    expect(await storedNode("restarted")).not.toBeNull();
    back.close();
  });

  it("a node that goes silent (no heartbeat, socket open) is closed at the second silent check and its rooms move", async () => {
    const { node } = await FakeNode.connect("node-a");
    const alice = await openRoomSocket("silent");
    await alice.join("Alice");
    await registerNode("node-b");
    const silence = () =>
      runInDurableObject(nodeObject("node-a"), (instance: MediaNodeDO) => {
        (instance as unknown as { lastHeard: number }).lastHeard = Date.now() - 60_000;
      });
    await silence();
    await runDurableObjectAlarm(nodeObject("node-a"));
    // One silent check is not enough: after a stall of the object, its alarm can run before the
    // heartbeats that arrived meanwhile.
    expect(await storedNode("silent")).toBe("node-a");
    await silence();
    await runDurableObjectAlarm(nodeObject("node-a"));
    expect((await node.closed).code).toBe(NodeCloseCode.silent);
    await alice.error("media-failed");
    expect(await storedNode("silent")).toBe("node-b");
  });

  it("a heartbeat between two silent checks keeps the node", async () => {
    const { node } = await FakeNode.connect("node-a");
    const alice = await openRoomSocket("stalled");
    await alice.join("Alice");
    await registerNode("node-b");
    await runInDurableObject(nodeObject("node-a"), (instance: MediaNodeDO) => {
      (instance as unknown as { lastHeard: number }).lastHeard = Date.now() - 60_000;
    });
    await runDurableObjectAlarm(nodeObject("node-a"));
    const ack = node.next("heartbeat-ack");
    node.event({ type: "heartbeat", load: IDLE_LOAD });
    await ack;
    await runDurableObjectAlarm(nodeObject("node-a"));
    expect(await storedNode("stalled")).toBe("node-a");
    await expect(alice.error("media-failed", 300)).rejects.toThrow(/no "error"/);
  });

  it("a participant who leaves while the room moves off a drained node is freed there at once", async () => {
    const node = await registerNode("node-a");
    const alice = await openRoomSocket("leaving-mid-move");
    const { participantId } = await alice.join("Alice");
    await registerNode("node-b");
    node.event({ type: "drain" });
    await alice.error("media-moved");
    node.answer = () => ({ body: { removedTracks: [] } });
    alice.send({ v: 1, type: "leave" });
    await expect.poll(() => node.sent("remove").map((r) => r.body)).toEqual([{ room: "leaving-mid-move", participantId }]);
  });

  it("a node's own drain moves its rooms and takes it out of placement", async () => {
    const node = await registerNode("node-a");
    const alice = await openRoomSocket("draining");
    await alice.join("Alice");
    await registerNode("node-b");
    node.event({ type: "drain" });
    await alice.error("media-moved");
    expect(await storedNode("draining")).toBe("node-b");
    // Make before break: the old node keeps Alice's media until she has republished (or she leaves).
    expect(node.sent("remove")).toEqual([]);
    expect((await storedNodes()).get("node:node-a")).toMatchObject({ draining: true, selfDrained: true });
    // A restart of that process (a new instance) takes rooms again.
    node.close();
    await FakeNode.connect("node-a", {}, { instanceId: "after-restart" }).then(({ node: n }) => n.close());
    expect((await storedNodes()).get("node:node-a")!.draining).toBe(false);
  });
});
