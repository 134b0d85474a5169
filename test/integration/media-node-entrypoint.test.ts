import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { deriveNodeKey, nodeCredential } from "@sfu/shared";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, terminate } from "../../scripts/system.ts";
import { useSystem } from "../support/hooks.ts";
import { nodeHealth, nodeHealthOrNothing, nodeMetrics } from "../support/node-health.ts";

/** The container's entrypoint (`node media-node.mjs`), built as the Dockerfile builds it and run as a plain process. */
const BUNDLE = join(ROOT, "media-node/dist/media-node.mjs");

beforeAll(() => {
  execFileSync("npm", ["run", "build", "-w", "@sfu/media-node"], { cwd: ROOT, stdio: "pipe" });
});
const system = useSystem({ nodes: 0 });

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [BUNDLE], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return { child, stderr: () => stderr };
}

const healthyNodes = async () => ((await (await fetch(`${system.url}/healthz`)).json()) as { healthyNodes: number }).healthyNodes;

describe("media node entrypoint", () => {
  it("connects to the worker and heartbeats", async () => {
    expect(await healthyNodes()).toBe(0);
    const node = run({ WORKER_URL: system.url, NODE_KEY: await deriveNodeKey(system.secret, "bundle-node"), NODE_ID: "bundle-node", HEALTH_PORT: "17550", RTC_MIN_PORT: "48500", RTC_MAX_PORT: "48599", HEARTBEAT_MS: "500" });
    try {
      await expect.poll(healthyNodes, { timeout: 15_000, interval: 200 }).toBe(1);
      await expect.poll(async () => (await nodeHealthOrNothing(17550))?.connected, { timeout: 15_000, interval: 200 }).toBe(true);
      expect(await nodeHealth(17550)).toMatchObject({ status: 200, ok: true, connected: true, nodeId: "bundle-node", rooms: 0 });
      await expect.poll(() => node.stderr(), { timeout: 5000 }).toContain("connected to the edge");
      const metrics = await nodeMetrics(17550);
      expect(metrics).toMatch(/^sfu_node_connected 1$/m);
      expect(metrics).toMatch(/^sfu_node_rooms 0$/m);
    } finally {
      await terminate(node.child);
    }
  });

  it("is refused by the worker with another node's key, never counts as healthy, and keeps retrying", async () => {
    const before = await healthyNodes();
    const node = run({ WORKER_URL: system.url, NODE_KEY: await deriveNodeKey(system.secret, "bundle-node"), NODE_ID: "forged", HEALTH_PORT: "17551" });
    try {
      const refusals = () => node.stderr().split("Unexpected server response: 401").length - 1;
      await expect.poll(refusals, { timeout: 15_000, interval: 200 }).toBeGreaterThanOrEqual(3);
      expect(await nodeHealth(17551)).toMatchObject({ status: 503, ok: false, connected: false, nodeId: "forged" });
      expect(await healthyNodes()).toBe(before);
      expect(node.child.exitCode).toBeNull();
    } finally {
      await terminate(node.child);
    }
  });

  it("with WORKERS=2 runs two connected node processes, restarts one that dies, and reports both on the supervisor's health port", async () => {
    const supervisor = run({ WORKER_URL: system.url, NODE_KEY: await nodeCredential(system.secret, "multi", 2), NODE_ID: "multi", WORKERS: "2", HEALTH_PORT: "17560", RTC_MIN_PORT: "48600", RTC_MAX_PORT: "48799", HEARTBEAT_MS: "500" });
    try {
      await expect.poll(async () => (await nodeHealthOrNothing(17560))?.status, { timeout: 15_000, interval: 200 }).toBe(200);
      expect((await nodeHealth(17560)).workers).toHaveLength(2);
      const [first, second] = [await nodeHealth(17561), await nodeHealth(17562)];
      expect([first.nodeId, second.nodeId]).toEqual(["multi-0", "multi-1"]);
      expect([first.connected, second.connected]).toEqual([true, true]);
      process.kill(second.pid, "SIGKILL");
      await expect.poll(async () => (await nodeHealthOrNothing(17560))?.status, { timeout: 5000, interval: 50 }).toBe(503);
      const restarted = async () => {
        const h = await nodeHealthOrNothing(17562);
        return h !== undefined && h.pid !== second.pid && h.connected;
      };
      await expect.poll(restarted, { timeout: 15_000, interval: 200 }).toBe(true);
      expect((await nodeHealth(17562)).nodeId).toBe("multi-1");
      await expect.poll(async () => (await nodeHealthOrNothing(17560))?.status, { timeout: 15_000, interval: 200 }).toBe(200);
    } finally {
      await terminate(supervisor.child);
    }
    await expect(fetch("http://127.0.0.1:17560/healthz")).rejects.toThrow();
    await expect(fetch("http://127.0.0.1:17561/healthz")).rejects.toThrow();
  });

  it("exits with a message naming each invalid variable", async () => {
    const node = run({ WORKER_URL: "not a url", NODE_ID: "n1", NODE_KEY: "short", RTC_MIN_PORT: "70000" });
    const code = await new Promise<number | null>((resolve) => node.child.once("exit", resolve));
    expect(code).toBe(2);
    for (const name of ["WORKER_URL", "NODE_KEY", "RTC_MIN_PORT"]) expect(node.stderr()).toContain(name);
  });
});
