import { MAX_INVENTORY_PARTICIPANTS, MAX_INVENTORY_ROOMS, NodeEvent } from "@sfu/shared";
import { describe, expect, it } from "vitest";
import { inventoryEvents } from "../../media-node/src/inventory.ts";
import type { NodeRecord } from "../../worker/src/placement.ts";
import { departedNodes, forgetAt, linkForgetAt, reconcileHeldRoom } from "../../worker/src/reconcile.ts";

const NOW = 10_000_000;
const FORGET = 3_600_000;

function node(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id,
    instanceId: `${id}-instance`,
    connected: false,
    region: "eu",
    capacity: 100,
    load: { rooms: 0, participants: 0, tracks: 0, cpu: 0 },
    registeredAt: 0,
    lastHeartbeat: NOW - FORGET - 5000,
    placedSinceHeartbeat: 0,
    draining: false,
    ...over,
  };
}

describe("reconciling what a node holds for a room", () => {
  it("keeps what the room expects there", () => {
    expect(reconcileHeldRoom(["a", "b"], new Set(["a", "b", "c"]))).toEqual({ type: "keep" });
    expect(reconcileHeldRoom([], new Set(["a"]))).toEqual({ type: "keep" });
  });

  it("removes participants the room no longer has there (each once)", () => {
    expect(reconcileHeldRoom(["a", "gone", "b", "gone", "left"], new Set(["a", "b"]))).toEqual({ type: "remove", participantIds: ["gone", "left"] });
    expect(reconcileHeldRoom(["a"], new Set())).toEqual({ type: "remove", participantIds: ["a"] });
  });

  it("closes the whole room when the room has nothing on that node (emptied, moved, or unknown)", () => {
    expect(reconcileHeldRoom(["a", "b"], null)).toEqual({ type: "close-room" });
    expect(reconcileHeldRoom([], null)).toEqual({ type: "close-room" });
  });
});

describe("forgetting nodes that are gone", () => {
  it("forgets a disconnected node once NODE_FORGET_AFTER_MS have passed since it went down, not before", () => {
    const down = node("down", { disconnectedAt: NOW - FORGET });
    const recent = node("recent", { disconnectedAt: NOW - FORGET + 1 });
    expect(departedNodes([down, recent], new Set(), NOW, FORGET)).toEqual(["down"]);
    expect(forgetAt(recent, FORGET)).toBe(NOW + 1);
  });

  it("never forgets a connected node, however old its heartbeat", () => {
    expect(departedNodes([node("up", { connected: true, lastHeartbeat: 0 })], new Set(), NOW, FORGET)).toEqual([]);
    expect(forgetAt(node("up", { connected: true }), FORGET)).toBeNull();
  });

  it("keeps a node some room is still placed on", () => {
    expect(departedNodes([node("busy", { disconnectedAt: 0 })], new Set(["busy"]), NOW, FORGET)).toEqual([]);
  });

  it("counts a record without disconnectedAt (stored before it existed) from its last heartbeat", () => {
    expect(departedNodes([node("old", { lastHeartbeat: NOW - FORGET }), node("young", { lastHeartbeat: NOW - 10 })], new Set(), NOW, FORGET)).toEqual(["old"]);
  });

  it("forgets a node's link state only once its newest proof has expired, so no replay gets through", () => {
    expect(linkForgetAt(1000, 500, 10, 30_000)).toBe(30_501);
    expect(linkForgetAt(1000, 500, 60_000, 30_000)).toBe(61_000);
  });
});

describe("the node's inventory events", () => {
  it("list every room and its participants, empty rooms too", () => {
    const events = inventoryEvents(new Map([["r1", ["a", "b"]], ["r2", []]]));
    expect(events).toEqual([{ type: "inventory", rooms: [{ room: "r1", participants: ["a", "b"] }, { room: "r2", participants: [] }] }]);
  });

  it("are none when the node holds nothing", () => {
    expect(inventoryEvents(new Map())).toEqual([]);
  });

  it("split a large room into entries and many rooms into events, each within the protocol's limits", () => {
    const big = Array.from({ length: MAX_INVENTORY_PARTICIPANTS * 2 + 1 }, (_, i) => `p${i}`);
    const many = Array.from({ length: MAX_INVENTORY_ROOMS + 5 }, (_, i) => [`room-${i}`, [`q${i}`]] as const);
    const events = inventoryEvents(new Map<string, string[]>([["big", big], ...many.map(([r, ps]) => [r, [...ps]] as [string, string[]])]));
    expect(events).toHaveLength(2);
    for (const event of events) expect(NodeEvent.safeParse(event).success).toBe(true);
    const entries = events.flatMap((e) => e.rooms);
    expect(entries.filter((e) => e.room === "big").flatMap((e) => e.participants)).toEqual(big);
    expect(entries.filter((e) => e.room === "big")).toHaveLength(3);
    expect(new Set(entries.map((e) => e.room)).size).toBe(MAX_INVENTORY_ROOMS + 6);
  });
});
