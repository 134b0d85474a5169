import { describe, expect, it } from "vitest";
import { chooseNode, isHealthy, utilisation, type NodeRecord } from "../../worker/src/placement.ts";

const NOW = 1_000_000;
const STALE = 15_000;

function node(id: string, over: Partial<NodeRecord> & { participants?: number } = {}): NodeRecord {
  const { participants = 0, ...rest } = over;
  return {
    id,
    instanceId: `${id}-instance`,
    connected: true,
    region: "eu",
    capacity: 100,
    load: { rooms: 0, participants, tracks: 0, cpu: 0 },
    registeredAt: NOW - 60_000,
    lastHeartbeat: NOW - 1_000,
    placedSinceHeartbeat: 0,
    draining: false,
    ...rest,
  };
}

describe("utilisation and isHealthy", () => {
  it("counts reported participants plus rooms placed since the last heartbeat", () => {
    expect(utilisation(node("a", { participants: 30 }))).toBeCloseTo(0.3);
    expect(utilisation(node("a", { participants: 30, placedSinceHeartbeat: 20 }))).toBeCloseTo(0.5);
    expect(utilisation(node("a", { capacity: 4, participants: 4 }))).toBe(1);
  });

  it("is healthy up to and including staleAfterMs since the last heartbeat", () => {
    expect(isHealthy(node("a", { lastHeartbeat: NOW - STALE }), NOW, STALE)).toBe(true);
    expect(isHealthy(node("a", { lastHeartbeat: NOW - STALE - 1 }), NOW, STALE)).toBe(false);
  });

  it("is not healthy while its socket is down, however fresh its last heartbeat", () => {
    expect(isHealthy(node("a", { connected: false }), NOW, STALE)).toBe(false);
    expect(chooseNode([node("a", { connected: false }), node("b", { participants: 90 })], NOW, STALE)?.id).toBe("b");
  });
});

describe("chooseNode", () => {
  it("returns undefined for an empty fleet", () => {
    expect(chooseNode([], NOW, STALE)).toBeUndefined();
  });

  it("picks the least utilised node", () => {
    const nodes = [node("a", { participants: 50 }), node("b", { participants: 10 }), node("c", { participants: 30 })];
    expect(chooseNode(nodes, NOW, STALE)?.id).toBe("b");
  });

  it("compares utilisation, not absolute load", () => {
    const nodes = [node("big", { capacity: 1000, participants: 100 }), node("small", { capacity: 10, participants: 5 })];
    expect(chooseNode(nodes, NOW, STALE)?.id).toBe("big");
  });

  it("skips stale nodes even when they are the emptiest", () => {
    const nodes = [node("stale", { lastHeartbeat: NOW - STALE - 1 }), node("busy", { participants: 90 })];
    expect(chooseNode(nodes, NOW, STALE)?.id).toBe("busy");
  });

  it("keeps a node whose heartbeat is exactly staleAfterMs old", () => {
    expect(chooseNode([node("edge", { lastHeartbeat: NOW - STALE })], NOW, STALE)?.id).toBe("edge");
  });

  it("uses the staleAfterMs it is given", () => {
    const nodes = [node("a", { lastHeartbeat: NOW - 5_000 })];
    expect(chooseNode(nodes, NOW, 4_999)).toBeUndefined();
    expect(chooseNode(nodes, NOW, 5_000)?.id).toBe("a");
  });

  it("skips draining nodes", () => {
    const nodes = [node("draining", { draining: true }), node("busy", { participants: 80 })];
    expect(chooseNode(nodes, NOW, STALE)?.id).toBe("busy");
  });

  it("skips full nodes", () => {
    const nodes = [node("full", { capacity: 10, participants: 10 }), node("over", { capacity: 10, participants: 12 })];
    expect(chooseNode(nodes, NOW, STALE)).toBeUndefined();
    expect(chooseNode([...nodes, node("ok", { capacity: 10, participants: 9 })], NOW, STALE)?.id).toBe("ok");
  });

  it("counts placedSinceHeartbeat towards fullness and utilisation", () => {
    const full = node("a", { capacity: 5, participants: 2, placedSinceHeartbeat: 3 });
    expect(chooseNode([full], NOW, STALE)).toBeUndefined();
    const nodes = [node("a", { participants: 10, placedSinceHeartbeat: 15 }), node("b", { participants: 20 })];
    expect(chooseNode(nodes, NOW, STALE)?.id).toBe("b");
  });

  it("spreads successive placements as placedSinceHeartbeat grows", () => {
    const nodes = [node("a"), node("b"), node("c")];
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) {
      const chosen = chooseNode(nodes, NOW, STALE)!;
      picks.push(chosen.id);
      chosen.placedSinceHeartbeat++;
    }
    expect(picks).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("returns undefined when no node is healthy", () => {
    const nodes = [
      node("stale", { lastHeartbeat: NOW - 60_000 }),
      node("draining", { draining: true }),
      node("full", { capacity: 1, participants: 1 }),
    ];
    expect(chooseNode(nodes, NOW, STALE)).toBeUndefined();
  });

  it("breaks utilisation ties by preferred region", () => {
    const nodes = [node("a", { region: "us" }), node("b", { region: "eu" }), node("c", { region: "ap" })];
    expect(chooseNode(nodes, NOW, STALE, "eu")?.id).toBe("b");
    expect(chooseNode(nodes, NOW, STALE, "ap")?.id).toBe("c");
    expect(chooseNode(nodes, NOW, STALE, "sa")?.id).toBe("a");
  });

  it("prefers a node in the caller's region over a less utilised one elsewhere", () => {
    const nodes = [node("near", { region: "eu", participants: 20 }), node("far", { region: "us", participants: 10 })];
    expect(chooseNode(nodes, NOW, STALE, "eu")?.id).toBe("near");
    expect(chooseNode(nodes, NOW, STALE)?.id).toBe("far");
  });

  it("overflows to another region once the caller's region is above REGION_OVERFLOW", () => {
    const nodes = [node("near", { region: "eu", participants: 85 }), node("far", { region: "us", participants: 10 })];
    expect(chooseNode(nodes, NOW, STALE, "eu")?.id).toBe("far");
  });

  it("breaks full ties by lowest id, whatever the input order", () => {
    const ids = ["node-c", "node-a", "node-b"];
    for (const order of [ids, [...ids].reverse(), ["node-b", "node-c", "node-a"]]) {
      expect(chooseNode(order.map((id) => node(id)), NOW, STALE)?.id).toBe("node-a");
    }
  });

  it("breaks ties by id within the preferred region", () => {
    const nodes = [node("z", { region: "eu" }), node("y", { region: "eu" }), node("a", { region: "us" })];
    expect(chooseNode(nodes, NOW, STALE, "eu")?.id).toBe("y");
  });

  it("does not modify its input", () => {
    const nodes = [node("a"), node("b", { participants: 3 })];
    const before = structuredClone(nodes);
    chooseNode(nodes, NOW, STALE, "eu");
    expect(nodes).toEqual(before);
  });
});
