import { env, reset, runInDurableObject } from "cloudflare:test";
import { NODE_PROOF_MAX_SKEW_MS, type HeldRoom } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NodeRecord } from "../../worker/src/placement.ts";
import { closeOpenedSockets, connectNodeSocket, eventually, FakeNode, IDLE_LOAD, openRoomSocket, registerNode, storedRoom, type Request } from "./helpers.ts";

const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName("global"));
const nodeObject = (nodeId: string) => env.NODES.get(env.NODES.idFromName(nodeId));
const storedNodes = () => runInDurableObject(registry(), (_i, state) => state.storage.list<NodeRecord>({ prefix: "node:" }));
/** NODE_FORGET_AFTER_MS's default (the tests do not set it). */
const FORGET_AFTER_MS = 3_600_000;

beforeEach(async () => {
  await reset();
});

afterEach(closeOpenedSockets);

/** The fake node answers removals and closes; what the edge sent, in order, is in `node.requests`. */
function answering(node: FakeNode, refuseFirstRemove = false): void {
  let refused = !refuseFirstRemove;
  node.answer = (req: Request) => {
    if (req.action === "remove") {
      if (!refused) {
        refused = true;
        return { error: "internal", message: "lost on the way" };
      }
      return { body: { removedTracks: [] } };
    }
    if (req.action === "close-room") return { body: { closed: true } };
    return { error: "internal", message: "test node: no media here" };
  };
}

/**
 * Reports `rooms` as the node's inventory, followed by a room nobody has ("sentinel"): rooms are
 * reconciled in order, so once the sentinel's close-room arrives, every room before it has been decided.
 */
async function reportInventory(node: FakeNode, rooms: HeldRoom[]): Promise<Request[]> {
  const before = node.requests.length;
  node.event({ type: "inventory", rooms: [...rooms, { room: "sentinel", participants: [] }] });
  await node.next("request", (r) => r.action === "close-room" && (r.body as { room: string }).room === "sentinel");
  return node.requests.slice(before, -1);
}

describe("the edge reconciles a node's inventory", () => {
  it("removes a participant whose removal the node never confirmed, and nobody else", async () => {
    const node = await registerNode("node-a");
    const alice = await openRoomSocket("orphans");
    const bob = await openRoomSocket("orphans");
    const { participantId: aliceId } = await alice.join("Alice");
    const { participantId: bobId } = await bob.join("Bob");
    answering(node, true);
    bob.send({ v: 1, type: "leave" });
    await node.next("request", (r) => r.action === "remove");
    await bob.closed;

    const sent = await reportInventory(node, [{ room: "orphans", participants: [aliceId, bobId] }]);
    expect(sent.map((r) => [r.action, r.body])).toEqual([["remove", { room: "orphans", participantId: bobId }]]);
    // A node that holds just what the room has is left alone.
    expect(await reportInventory(node, [{ room: "orphans", participants: [aliceId] }])).toEqual([]);
  });

  it("closes a room the edge does not place on the node: emptied, or never known here", async () => {
    const node = await registerNode("node-a");
    const alice = await openRoomSocket("emptied");
    const { participantId } = await alice.join("Alice");
    answering(node, true);
    alice.send({ v: 1, type: "leave" });
    await alice.closed;
    await eventually(async () => expect(await storedRoom("emptied")).toEqual({ room: null, participants: [], chat: [] }));

    const sent = await reportInventory(node, [{ room: "emptied", participants: [participantId] }, { room: "ghost", participants: ["someone"] }]);
    expect(sent.map((r) => [r.action, r.body])).toEqual([["close-room", { room: "emptied" }], ["close-room", { room: "ghost" }]]);
    // Asking leaves nothing behind in the rooms' storage.
    expect(await storedRoom("ghost")).toEqual({ room: null, participants: [], chat: [] });
    expect(await storedRoom("emptied")).toEqual({ room: null, participants: [], chat: [] });
  });

  it("leaves a room on another node alone when this node is not its node", async () => {
    const nodeA = await registerNode("node-a");
    const alice = await openRoomSocket("elsewhere");
    await alice.join("Alice");
    const nodeB = await registerNode("node-b");
    answering(nodeB);
    // node-b claims to hold the room placed on node-a: it is freed on node-b only.
    const sent = await reportInventory(nodeB, [{ room: "elsewhere", participants: ["stray"] }]);
    expect(sent.map((r) => [r.action, r.body])).toEqual([["close-room", { room: "elsewhere" }]]);
    expect(nodeA.sent("remove")).toEqual([]);
    expect(nodeA.sent("close-room")).toEqual([]);
  });

  it("keeps what a drained node still forwards until everyone has republished (make before break)", async () => {
    const nodeA = await registerNode("node-a");
    const alice = await openRoomSocket("moving");
    const { participantId } = await alice.join("Alice");
    await registerNode("node-b");
    nodeA.event({ type: "drain" });
    await alice.error("media-moved");
    answering(nodeA);
    expect(await reportInventory(nodeA, [{ room: "moving", participants: [participantId] }])).toEqual([]);
    // ... but not someone the room never had there.
    const sent = await reportInventory(nodeA, [{ room: "moving", participants: [participantId, "stray"] }]);
    expect(sent.map((r) => [r.action, r.body])).toEqual([["remove", { room: "moving", participantId: "stray" }]]);
  });
});

describe("node capacity at placement", () => {
  it("a node at its capacity gets no new room, and takes rooms again once its load falls", async () => {
    const node = await registerNode("full-node", { capacity: 2, load: { ...IDLE_LOAD, participants: 2 } });
    const alice = await openRoomSocket("no-room-at-the-inn");
    alice.send({ v: 1, type: "join", name: "Alice" });
    await alice.error("no-media-node");
    node.event({ type: "heartbeat", load: { ...IDLE_LOAD, participants: 1 } });
    await node.next("heartbeat-ack");
    expect((await alice.join("Alice")).participants).toHaveLength(1);
  });

  it("counts rooms placed since the node's last heartbeat against its capacity", async () => {
    await registerNode("small-node", { capacity: 1 });
    const first = await openRoomSocket("first");
    await first.join("A");
    const second = await openRoomSocket("second");
    second.send({ v: 1, type: "join", name: "B" });
    await second.error("no-media-node");
  });
});

describe("nodes that are gone leave storage", () => {
  it("the registry forgets a node down for NODE_FORGET_AFTER_MS, not sooner, and not a connected one", async () => {
    const gone = await registerNode("gone");
    await registerNode("staying");
    gone.close();
    await eventually(async () => expect((await storedNodes()).get("node:gone")?.connected).toBe(false));
    const downAt = (await storedNodes()).get("node:gone")!.disconnectedAt!;
    expect(await registry().forgetDeparted(downAt + FORGET_AFTER_MS - 1)).toEqual([]);
    expect(await registry().forgetDeparted(downAt + FORGET_AFTER_MS)).toEqual(["gone"]);
    expect([...(await storedNodes()).keys()]).toEqual(["node:staying"]);
    expect((await registry().list(Date.now())).map((n) => n.id)).toEqual(["staying"]);
  });

  it("a node's link object drops its state once the node has been down long enough, and the node can connect afresh", async () => {
    const gone = await registerNode("gone");
    gone.close();
    await eventually(async () => expect((await storedNodes()).get("node:gone")?.connected).toBe(false));
    const stored = () => runInDurableObject(nodeObject("gone"), (_i, state) => state.storage.list());
    expect((await stored()).size).toBe(1);
    expect(await nodeObject("gone").forgetIfGone(Date.now())).toBe(false);
    expect(await nodeObject("gone").forgetIfGone(Date.now() + FORGET_AFTER_MS + NODE_PROOF_MAX_SKEW_MS + 1000)).toBe(true);
    expect((await stored()).size).toBe(0);
    expect(await runInDurableObject(nodeObject("gone"), (_i, state) => state.storage.getAlarm())).toBeNull();
    const again = await connectNodeSocket("gone", { instanceId: "instance-2" });
    expect(again.status).toBe(101);
    again.webSocket!.accept();
    again.webSocket!.close();
  });

  it("a connected node's link state is never dropped", async () => {
    await registerNode("here");
    expect(await nodeObject("here").forgetIfGone(Date.now() + 10 * FORGET_AFTER_MS)).toBe(false);
    expect((await runInDurableObject(nodeObject("here"), (_i, state) => state.storage.list())).size).toBe(1);
  });
});
