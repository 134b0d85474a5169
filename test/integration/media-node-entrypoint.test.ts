import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { deriveNodeKey, nodeCredential } from "@sfu/shared";
import { beforeAll, describe, expect, it } from "vitest";
import { MEDIA_NODE_FLAGS, ROOT, terminate } from "../../scripts/system.ts";
import { adminFetch } from "../support/admin.ts";
import { useSystem } from "../support/hooks.ts";
import { nodeHealth, nodeHealthOrNothing, nodeMetrics } from "../support/node-health.ts";
import { freeTcpPorts, freeUdpRange } from "../support/ports.ts";

/** The container's entrypoint (`node media-node.mjs`), built as the Dockerfile builds it and run as a plain process. */
const BUNDLE = join(ROOT, "media-node/dist/media-node.mjs");

beforeAll(() => {
  execFileSync("npm", ["run", "build", "-w", "@sfu/media-node"], { cwd: ROOT, stdio: "pipe" });
});
const system = useSystem({ nodes: 0 });

/**
 * The bundle as a process. `closed` resolves with its exit code once its stderr has been read to
 * the end: at "exit" the last lines it wrote may still be in the pipe.
 */
function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [...MEDIA_NODE_FLAGS, BUNDLE], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, stderr: () => stderr, closed };
}

/** A health port and a range of `rtcPorts` UDP ports, free on 127.0.0.1 now, as the node's environment. */
async function freePorts(rtcPorts: number, healthPorts = 1): Promise<{ HEALTH_PORT: string; RTC_MIN_PORT: string; RTC_MAX_PORT: string }> {
  const health = await freeTcpPorts(healthPorts);
  const rtc = await freeUdpRange(rtcPorts);
  return { HEALTH_PORT: String(health), RTC_MIN_PORT: String(rtc), RTC_MAX_PORT: String(rtc + rtcPorts - 1) };
}

const healthyNodes = async () => ((await (await fetch(`${system.url}/healthz`)).json()) as { healthyNodes: number }).healthyNodes;
/** When the worker last recorded a heartbeat from `nodeId` (undefined: it knows no such node). */
const lastHeartbeat = async (nodeId: string) => {
  const { nodes } = (await (await adminFetch(system, "GET", "/nodes")).json()) as { nodes: Array<{ id: string; lastHeartbeat: number }> };
  return nodes.find((n) => n.id === nodeId)?.lastHeartbeat;
};

describe("media node entrypoint", () => {
  it("connects to the worker and heartbeats", async () => {
    expect(await healthyNodes()).toBe(0);
    const ports = await freePorts(100);
    const health = Number(ports.HEALTH_PORT);
    const node = run({ WORKER_URL: system.url, NODE_KEY: await deriveNodeKey(system.secret, "bundle-node"), NODE_ID: "bundle-node", ...ports, HEARTBEAT_MS: "500" });
    try {
      await expect.poll(healthyNodes, { timeout: 15_000, interval: 200 }).toBe(1);
      await expect.poll(async () => (await nodeHealthOrNothing(health))?.connected, { timeout: 15_000, interval: 200 }).toBe(true);
      expect(await nodeHealth(health)).toMatchObject({ status: 200, ok: true, connected: true, nodeId: "bundle-node", rooms: 0 });
      // The worker records heartbeats after the one it counted the node healthy on.
      const first = await lastHeartbeat("bundle-node");
      expect(first).toBeTypeOf("number");
      await expect.poll(() => lastHeartbeat("bundle-node"), { timeout: 15_000, interval: 200 }).toBeGreaterThan(first!);
      // The node logs its connection when the worker welcomes it: the worker counts it healthy before that.
      await expect.poll(() => node.stderr(), { timeout: 5000 }).toContain("connected to the edge");
      const metrics = await nodeMetrics(health);
      expect(metrics).toMatch(/^sfu_node_connected 1$/m);
      expect(metrics).toMatch(/^sfu_node_rooms 0$/m);
    } finally {
      await terminate(node.child);
    }
  });

  it("is refused by the worker with another node's key, never counts as healthy, and keeps retrying", async () => {
    const before = await healthyNodes();
    const ports = await freePorts(100);
    const node = run({ WORKER_URL: system.url, NODE_KEY: await deriveNodeKey(system.secret, "bundle-node"), NODE_ID: "forged", ...ports });
    try {
      const refusals = () => node.stderr().split("Unexpected server response: 401").length - 1;
      await expect.poll(refusals, { timeout: 15_000, interval: 200 }).toBeGreaterThanOrEqual(3);
      expect(await nodeHealth(Number(ports.HEALTH_PORT))).toMatchObject({ status: 503, ok: false, connected: false, nodeId: "forged" });
      expect(await healthyNodes()).toBe(before);
      expect(node.child.exitCode).toBeNull();
    } finally {
      await terminate(node.child);
    }
  });

  it("with WORKERS=2 runs two connected node processes, restarts one that dies, and reports both on the supervisor's health port", async () => {
    // The supervisor serves health on HEALTH_PORT, worker i on HEALTH_PORT + 1 + i.
    const ports = await freePorts(200, 3);
    const [supervisorPort, firstPort, secondPort] = [0, 1, 2].map((i) => Number(ports.HEALTH_PORT) + i) as [number, number, number];
    const supervisor = run({ WORKER_URL: system.url, NODE_KEY: await nodeCredential(system.secret, "multi", 2), NODE_ID: "multi", WORKERS: "2", ...ports, HEARTBEAT_MS: "500" });
    try {
      await expect.poll(async () => (await nodeHealthOrNothing(supervisorPort))?.status, { timeout: 15_000, interval: 200 }).toBe(200);
      expect((await nodeHealth(supervisorPort)).workers).toHaveLength(2);
      const [first, second] = [await nodeHealth(firstPort), await nodeHealth(secondPort)];
      expect([first.nodeId, second.nodeId]).toEqual(["multi-0", "multi-1"]);
      expect([first.connected, second.connected]).toEqual([true, true]);
      process.kill(second.pid, "SIGKILL");
      await expect.poll(async () => (await nodeHealthOrNothing(supervisorPort))?.status, { timeout: 5000, interval: 50 }).toBe(503);
      const restarted = async () => {
        const h = await nodeHealthOrNothing(secondPort);
        return h !== undefined && h.pid !== second.pid && h.connected;
      };
      await expect.poll(restarted, { timeout: 15_000, interval: 200 }).toBe(true);
      expect((await nodeHealth(secondPort)).nodeId).toBe("multi-1");
      await expect.poll(async () => (await nodeHealthOrNothing(supervisorPort))?.status, { timeout: 15_000, interval: 200 }).toBe(200);
    } finally {
      await terminate(supervisor.child);
    }
    await expect(fetch(`http://127.0.0.1:${supervisorPort}/healthz`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${firstPort}/healthz`)).rejects.toThrow();
  });

  it("exits with a message naming each invalid variable", async () => {
    const node = run({ WORKER_URL: "not a url", NODE_ID: "n1", NODE_KEY: "short", RTC_MIN_PORT: "70000" });
    expect(await node.closed).toBe(2);
    for (const name of ["WORKER_URL", "NODE_KEY", "RTC_MIN_PORT"]) expect(node.stderr()).toContain(name);
  });
});
