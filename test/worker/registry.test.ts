import { abortAllDurableObjects, env, reset, runInDurableObject, SELF } from "cloudflare:test";
import { MAX_CONTROL_BYTES, SIGNATURE_HEADER, signRequest } from "@sfu/shared";
import { beforeEach, describe, expect, it } from "vitest";
import type { NodeRecord } from "../../worker/src/placement.ts";
import type { NodeRegistryDO } from "../../worker/src/registry-do.ts";
import { BASE, DEAD_NODE_URL, healthyNodes, registerNode, registration, signedPost, type SignOptions } from "./helpers.ts";

function registryStub() {
  return env.REGISTRY.get(env.REGISTRY.idFromName("global"));
}

async function storedNodes(): Promise<Map<string, NodeRecord>> {
  return runInDurableObject(registryStub(), (_instance, state) => state.storage.list<NodeRecord>({ prefix: "node:" }));
}

const HEARTBEAT_LOAD = { rooms: 3, participants: 7, tracks: 12, cpu: 0.25 };

beforeEach(async () => {
  await reset();
});

describe("unauthenticated requests are refused and change nothing", () => {
  const now = () => Date.now();
  const cases: [string, (path: string) => SignOptions, string][] = [
    ["unsigned", () => ({ header: null }), "missing signature"],
    ["empty signature header", () => ({ header: "" }), "missing signature"],
    ["malformed signature header", () => ({ header: "t=123,s=nothex" }), "malformed signature"],
    ["wrong secret", () => ({ secret: "not-the-fleet-secret-at-all" }), "bad signature"],
    ["expired timestamp (31 s old)", () => ({ at: now() - 31_000 }), "signature expired"],
    ["timestamp from the future (31 s ahead)", () => ({ at: now() + 31_000 }), "signature expired"],
    ["tampered body", () => ({ signedBody: JSON.stringify(registration("someone-else")) }), "bad signature"],
    ["signed for another path", (path) => ({ signedPath: path === "/nodes/register" ? "/nodes/heartbeat" : "/nodes/register" }), "bad signature"],
  ];

  describe.each(["/nodes/register", "/nodes/heartbeat"])("%s", (path) => {
    it.each(cases)("%s -> 401", async (_name, opts, reason) => {
      if (path === "/nodes/heartbeat") await registerNode("n1");
      const before = await storedNodes();
      const healthyBefore = await healthyNodes();

      const body = path === "/nodes/register" ? registration("n1", { region: "changed" }) : { nodeId: "n1", load: HEARTBEAT_LOAD };
      const res = await signedPost(path, body, opts(path));
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "unauthorized", message: reason });

      expect(await healthyNodes()).toBe(healthyBefore);
      expect(await storedNodes()).toEqual(before);
    });
  });

  it("refuses a replay of a valid registration with its signature moved to a tampered body", async () => {
    const good = JSON.stringify(registration("n1"));
    const header = await signRequest(env.FLEET_SECRET, "POST", "/nodes/register", good, Date.now());
    const res = await SELF.fetch(`${BASE}/nodes/register`, {
      method: "POST",
      body: JSON.stringify(registration("n1", { url: "http://evil.example:7100" })),
      headers: { [SIGNATURE_HEADER]: header },
    });
    expect(res.status).toBe(401);
    expect(await healthyNodes()).toBe(0);
  });
});

describe("POST /nodes/register", () => {
  it("starts with no nodes", async () => {
    expect(await healthyNodes()).toBe(0);
    expect((await storedNodes()).size).toBe(0);
  });

  it("a valid signed registration makes healthyNodes 1 and stores the node", async () => {
    const res = await signedPost("/nodes/register", registration("node-a", { region: "eu", capacity: 250 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, known: true });
    expect(await healthyNodes()).toBe(1);

    const stored = (await storedNodes()).get("node:node-a");
    expect(stored).toMatchObject({
      id: "node-a",
      url: DEAD_NODE_URL,
      region: "eu",
      capacity: 250,
      placedSinceHeartbeat: 0,
      draining: false,
    });
    expect(stored!.lastHeartbeat).toBeGreaterThanOrEqual(stored!.registeredAt);
  });

  it("re-registering the same id updates it in place and keeps registeredAt", async () => {
    await registerNode("node-a", { region: "eu" });
    const first = (await storedNodes()).get("node:node-a")!;
    await registerNode("node-a", { region: "us", url: "http://127.0.0.1:19" });
    expect(await healthyNodes()).toBe(1);
    const second = (await storedNodes()).get("node:node-a")!;
    expect(second.region).toBe("us");
    expect(second.url).toBe("http://127.0.0.1:19");
    expect(second.registeredAt).toBe(first.registeredAt);
  });

  it("counts each distinct node", async () => {
    await registerNode("node-a");
    await registerNode("node-b");
    await registerNode("node-c");
    expect(await healthyNodes()).toBe(3);
  });

  it("the registry survives a restart of its Durable Object", async () => {
    await registerNode("node-a");
    await registerNode("node-b");
    await abortAllDurableObjects();
    expect(await healthyNodes()).toBe(2);
  });

  it("reports nodes unhealthy once their heartbeat is older than NODE_STALE_MS", async () => {
    await registerNode("node-a");
    const views = await runInDurableObject(registryStub(), async (registry: NodeRegistryDO) => ({
      now: await registry.list(Date.now()),
      later: await registry.list(Date.now() + 15_001),
      placedLater: await registry.place("later", Date.now() + 15_001),
    }));
    expect(views.now.map((n) => n.healthy)).toEqual([true]);
    expect(views.later.map((n) => n.healthy)).toEqual([false]);
    expect(views.placedLater).toBeNull();
  });

  const longId = "n".repeat(65);
  it.each([
    ["not JSON", "{nodeId:"],
    ["an array", "[]"],
    ["missing url", JSON.stringify({ ...registration("n1"), url: undefined })],
    ["missing load", JSON.stringify({ ...registration("n1"), load: undefined })],
    ["a non-http url", JSON.stringify(registration("n1", { url: "ftp://127.0.0.1:9" }))],
    ["a nodeId with a slash", JSON.stringify(registration("a/b"))],
    ["a 65-character nodeId", JSON.stringify(registration(longId))],
    ["capacity 0", JSON.stringify(registration("n1", { capacity: 0 }))],
    ["negative participants", JSON.stringify(registration("n1", { load: { rooms: 0, participants: -1, tracks: 0, cpu: 0 } }))],
    ["an empty region", JSON.stringify(registration("n1", { region: "" }))],
  ])("a signed body that is %s -> 400", async (_name, text) => {
    const res = await signedPost("/nodes/register", text);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "bad-request" });
    expect(await healthyNodes()).toBe(0);
    expect((await storedNodes()).size).toBe(0);
  });

  it("a body over MAX_CONTROL_BYTES -> 413", async () => {
    const text = JSON.stringify({ ...registration("n1"), padding: "x".repeat(MAX_CONTROL_BYTES) });
    const res = await signedPost("/nodes/register", text);
    expect(res.status).toBe(413);
    expect(await healthyNodes()).toBe(0);
  });
});

describe("POST /nodes/heartbeat", () => {
  it("answers known:false for an unknown node and does not create it", async () => {
    const res = await signedPost("/nodes/heartbeat", { nodeId: "ghost", load: HEARTBEAT_LOAD });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, known: false });
    expect(await healthyNodes()).toBe(0);
    expect((await storedNodes()).size).toBe(0);
  });

  it("answers known:true for a registered node and records its load", async () => {
    await registerNode("node-a");
    const res = await signedPost("/nodes/heartbeat", { nodeId: "node-a", load: HEARTBEAT_LOAD });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, known: true });
    expect((await storedNodes()).get("node:node-a")!.load).toEqual(HEARTBEAT_LOAD);
    expect(await healthyNodes()).toBe(1);
  });

  it("resets placedSinceHeartbeat", async () => {
    await registerNode("node-a");
    await runInDurableObject(registryStub(), async (registry: NodeRegistryDO) => {
      await registry.place("room-1", Date.now());
      await registry.place("room-1", Date.now());
    });
    expect((await storedNodes()).get("node:node-a")!.placedSinceHeartbeat).toBe(2);
    await signedPost("/nodes/heartbeat", { nodeId: "node-a", load: HEARTBEAT_LOAD });
    expect((await storedNodes()).get("node:node-a")!.placedSinceHeartbeat).toBe(0);
  });

  it.each([
    ["not JSON", "nope"],
    ["missing load", JSON.stringify({ nodeId: "node-a" })],
    ["missing nodeId", JSON.stringify({ load: HEARTBEAT_LOAD })],
    ["a string cpu", JSON.stringify({ nodeId: "node-a", load: { ...HEARTBEAT_LOAD, cpu: "high" } })],
    ["fractional rooms", JSON.stringify({ nodeId: "node-a", load: { ...HEARTBEAT_LOAD, rooms: 1.5 } })],
  ])("a signed body that is %s -> 400 and leaves the node as it was", async (_name, text) => {
    await registerNode("node-a");
    const before = await storedNodes();
    const res = await signedPost("/nodes/heartbeat", text);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "bad-request" });
    expect(await storedNodes()).toEqual(before);
  });
});

describe("replayed node requests", () => {
  it("the same signed heartbeat sent twice is refused the second time", async () => {
    await registerNode("node-r");
    const body = JSON.stringify({ nodeId: "node-r", load: { rooms: 0, participants: 0, tracks: 0, cpu: 0 } });
    const header = await signRequest(env.FLEET_SECRET, "POST", "/nodes/heartbeat", body, Date.now());
    const send = () => SELF.fetch(`${BASE}/nodes/heartbeat`, { method: "POST", body, headers: { [SIGNATURE_HEADER]: header, "content-type": "application/json" } });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: "unauthorized", message: "replayed request" });
  });
});
