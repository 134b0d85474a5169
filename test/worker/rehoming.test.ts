import { env, reset, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE, closeOpenedSockets, openRoomSocket, registerNode, roomStub, roomToken, storedNode } from "./helpers.ts";

const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName("global"));

/** Ages a node's last heartbeat (past NODE_STALE_MS by default), as if it had gone silent. */
async function silence(nodeId: string, forMs = 60_000): Promise<void> {
  await runInDurableObject(registry(), async (instance, state) => {
    const node = (instance as unknown as { nodes: Map<string, { lastHeartbeat: number }> }).nodes.get(nodeId)!;
    node.lastHeartbeat = Date.now() - forMs;
    await state.storage.put(`node:${nodeId}`, node);
  });
}

beforeEach(async () => {
  await reset();
});

afterEach(closeOpenedSockets);

describe("a node that stops heartbeating (the registry's backstop)", () => {
  it("has its rooms moved to a healthy node, keeping the participants", async () => {
    await registerNode("node-a");
    const alice = await openRoomSocket("moving");
    const bob = await openRoomSocket("moving");
    const { participantId: aliceId } = await alice.join("Alice");
    await bob.join("Bob");
    expect(await storedNode("moving")).toBe("node-a");

    await registerNode("node-b");
    await silence("node-a");
    expect(await runDurableObjectAlarm(registry())).toBe(true);

    await alice.error("media-failed");
    await bob.error("media-failed");
    expect(await storedNode("moving")).toBe("node-b");
    const roster = (await roomStub("moving").summary()).participants.map((p) => p.id);
    expect(roster).toContain(aliceId);
    expect(roster).toHaveLength(2);
  });

  it("waits three times NODE_STALE_MS before acting: the node's own object judges first", async () => {
    await registerNode("node-a");
    const alice = await openRoomSocket("patient");
    await alice.join("Alice");
    await registerNode("node-b");
    // Twice the stale limit (15 s in these tests) without a recorded heartbeat: not yet the registry's call.
    await silence("node-a", 30_000);
    await runDurableObjectAlarm(registry());
    expect(await storedNode("patient")).toBe("node-a");
    await expect(alice.error("media-failed", 300)).rejects.toThrow(/no "error" message/);
  });

  it("leaves rooms on healthy nodes alone", async () => {
    await registerNode("node-a");
    const alice = await openRoomSocket("staying");
    await alice.join("Alice");
    await registerNode("node-b");
    await silence("node-b");
    await runDurableObjectAlarm(registry());
    expect(await storedNode("staying")).toBe("node-a");
    await expect(alice.error("media-failed", 300)).rejects.toThrow(/no "error" message/);
  });

  it("tells the room when no node is left", async () => {
    await registerNode("node-a");
    const alice = await openRoomSocket("stranded");
    await alice.join("Alice");
    await silence("node-a");
    await runDurableObjectAlarm(registry());
    await alice.error("no-media-node");
    expect(await storedNode("stranded")).toBeNull();
  });
});

describe("placement by the caller's region", () => {
  it("places a room on a node in the first joiner's region, even one busier than a node elsewhere", async () => {
    await registerNode("node-eu", { region: "EU", load: { rooms: 1, participants: 10, tracks: 20, cpu: 0.1 } });
    await registerNode("node-na", { region: "NA" });
    for (const [room, region, expected] of [["from-eu", "EU", "node-eu"], ["from-anywhere", undefined, "node-na"]] as const) {
      const headers: Record<string, string> = { Upgrade: "websocket", ...(region ? { "x-sfu-region": region } : {}) };
      const res = await SELF.fetch(`${BASE}/rooms/${room}/ws?token=${encodeURIComponent(await roomToken(room))}`, { headers });
      expect(res.status).toBe(101);
      const ws = res.webSocket!;
      ws.accept();
      const joined = new Promise((resolve) => ws.addEventListener("message", resolve, { once: true }));
      ws.send(JSON.stringify({ v: 1, type: "join", name: "Zed" }));
      await joined;
      expect(await storedNode(room)).toBe(expected);
      ws.close();
    }
  });
});
