import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startSystem, terminate, type RunningSystem } from "../../scripts/system.ts";

/** The container's entrypoint (`node media-node.mjs`), built as the Dockerfile builds it and run as a plain process. */
const BUNDLE = join(ROOT, "media-node/dist/media-node.mjs");

let system: RunningSystem;

beforeAll(async () => {
  execFileSync("npm", ["run", "build", "-w", "@sfu/media-node"], { cwd: ROOT, stdio: "pipe" });
  system = await startSystem({ workerPort: 18791, inspectorPort: 19233, controlPortBase: 17500, rtcPortBase: 48000, nodes: 0 });
});

afterAll(async () => {
  await system?.stop();
});

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [BUNDLE], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return { child, stderr: () => stderr };
}

const healthyNodes = async () => ((await (await fetch(`${system.url}/healthz`)).json()) as { healthyNodes: number }).healthyNodes;

describe("media node entrypoint", () => {
  it("registers with the worker and heartbeats", async () => {
    expect(await healthyNodes()).toBe(0);
    const node = run({ WORKER_URL: system.url, FLEET_SECRET: system.secret, NODE_ID: "bundle-node", CONTROL_PORT: "17550", RTC_MIN_PORT: "48500", RTC_MAX_PORT: "48599", HEARTBEAT_MS: "500" });
    try {
      await expect.poll(healthyNodes, { timeout: 15_000, interval: 200 }).toBe(1);
      expect(node.stderr()).toContain("registered with worker");
      const health = await fetch("http://127.0.0.1:17550/healthz");
      expect(await health.json()).toMatchObject({ ok: true, nodeId: "bundle-node", rooms: 0 });
    } finally {
      await terminate(node.child);
    }
  });

  it("is refused by the worker with the wrong fleet secret, and never counts as healthy", async () => {
    const before = await healthyNodes();
    const node = run({ WORKER_URL: system.url, FLEET_SECRET: "a-wrong-secret-of-enough-length", NODE_ID: "forged", CONTROL_PORT: "17551" });
    try {
      await expect.poll(() => node.stderr(), { timeout: 15_000 }).toContain("bad signature");
      expect(await healthyNodes()).toBe(before);
    } finally {
      await terminate(node.child);
    }
  });

  it("with WORKERS=2 runs two registered node processes, and restarts one that dies", async () => {
    const supervisor = run({ WORKER_URL: system.url, FLEET_SECRET: system.secret, NODE_ID: "multi", WORKERS: "2", CONTROL_PORT: "17560", RTC_MIN_PORT: "48600", RTC_MAX_PORT: "48799", HEARTBEAT_MS: "500" });
    const health = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { nodeId: string; pid: number };
    try {
      const registrations = () => supervisor.stderr().split("registered with worker").length - 1;
      await expect.poll(registrations, { timeout: 15_000, interval: 200 }).toBe(2);
      const [first, second] = [await health(17560), await health(17561)];
      expect([first.nodeId, second.nodeId]).toEqual(["multi-0", "multi-1"]);
      process.kill(second.pid, "SIGKILL");
      const restartedPid = async () => {
        const pid = (await health(17561).catch(() => undefined))?.pid;
        return pid !== undefined && pid !== second.pid;
      };
      await expect.poll(restartedPid, { timeout: 15_000, interval: 200 }).toBe(true);
      expect((await health(17561)).nodeId).toBe("multi-1");
      await expect.poll(registrations, { timeout: 15_000, interval: 200 }).toBe(3);
    } finally {
      await terminate(supervisor.child);
    }
    await expect(fetch("http://127.0.0.1:17560/healthz")).rejects.toThrow();
  });

  it("exits with a message naming each invalid variable", async () => {
    const node = run({ WORKER_URL: "not a url", FLEET_SECRET: "short", RTC_MIN_PORT: "70000" });
    const code = await new Promise<number | null>((resolve) => node.child.once("exit", resolve));
    expect(code).toBe(2);
    for (const name of ["WORKER_URL", "FLEET_SECRET", "RTC_MIN_PORT"]) expect(node.stderr()).toContain(name);
  });
});
