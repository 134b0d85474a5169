/**
 * Starts the whole system as a user runs it: the worker under `wrangler dev` (workerd) and N media
 * nodes as plain Node processes, each connected to the worker. Used by `npm start` and the tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deriveNodeKey } from "@sfu/shared";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface SystemOptions {
  workerPort: number;
  inspectorPort: number;
  nodes?: number;
  /** Node i serves /healthz and /metrics on 127.0.0.1:healthPortBase + i (none when unset). */
  healthPortBase?: number;
  /** Node i uses UDP ports [rtcPortBase + i*1000, rtcPortBase + i*1000 + 999]. */
  rtcPortBase: number;
  /** The worker's fleet secret, from which each node's own key (NODE_KEY) is derived; a random one per run by default. */
  secret?: string;
  /** Room-token signing secret; a random one per run by default. `/dev/token` is enabled. */
  tokenSecret?: string;
  /** Admin-token signing secret; a random one per run by default. */
  adminSecret?: string;
  /** Keep worker state in this directory (default: a fresh temporary one, deleted on stop). */
  persistTo?: string;
  /** Let the worker's impair calls narrow a subscriber's link (tests of congestion control and loss repair). */
  debugImpairment?: boolean;
  /** Stream child output to this process's stderr. */
  verbose?: boolean;
  /** The URL node i dials (default: the worker's own), e.g. a relay a test can cut. */
  nodeWorkerUrl?: (i: number) => string | undefined;
  /** More worker vars (e.g. NODE_RECONNECT_GRACE_MS) and media-node environment (e.g. INVENTORY_MS) than the defaults. */
  workerVars?: Record<string, string>;
  nodeEnv?: Record<string, string>;
  /** Offer this TURN server to browsers (worker vars TURN_URLS, TURN_SECRET, TURN_TTL_S); none by default. */
  turn?: { urls: string[]; secret: string; ttlSeconds?: number };
}

export interface RunningSystem {
  url: string;
  secret: string;
  tokenSecret: string;
  adminSecret: string;
  nodes: ChildProcess[];
  /** The last lines each process wrote (worker, then nodes), for a failed test's report. */
  outputTails(): string;
  stop(): Promise<void>;
}

const OFFLINE_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" };

export async function startSystem(opts: SystemOptions): Promise<RunningSystem> {
  const secret = opts.secret ?? randomBytes(24).toString("hex");
  const tokenSecret = opts.tokenSecret ?? randomBytes(24).toString("hex");
  const adminSecret = opts.adminSecret ?? randomBytes(24).toString("hex");
  const url = `http://127.0.0.1:${opts.workerPort}`;
  const tempState = opts.persistTo ? undefined : mkdtempSync(join(tmpdir(), "sfu-state-"));
  const children: ChildProcess[] = [];
  const nodes: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => (nodes.includes(c) ? stopNode(c) : terminate(c))));
    if (tempState) rmSync(tempState, { recursive: true, force: true });
  };
  try {
    const worker = launch(
      join(ROOT, "node_modules/.bin/wrangler"),
      ["dev", "--ip", "127.0.0.1", "--port", String(opts.workerPort), "--inspector-port", String(opts.inspectorPort),
        "--var", `FLEET_SECRET:${secret}`, "--var", `ROOM_TOKEN_SECRET:${tokenSecret}`,
        "--var", `ADMIN_TOKEN_SECRET:${adminSecret}`, "--var", "DEV_MODE:true", "--var", "ALLOW_PRIVATE_CANDIDATES:true",
        ...turnVars(opts.turn),
        ...Object.entries(opts.workerVars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
        "--persist-to", opts.persistTo ?? tempState!, "--log-level", "warn"],
      { ...OFFLINE_ENV },
      "worker",
      opts.verbose,
    );
    children.push(worker);
    await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 60_000, "worker did not start", worker);
    for (let i = 0; i < (opts.nodes ?? 1); i++) {
      const nodeId = `node-${i + 1}`;
      const node = startMediaNode({
        WORKER_URL: opts.nodeWorkerUrl?.(i) ?? url,
        NODE_ID: nodeId,
        NODE_KEY: await deriveNodeKey(secret, nodeId),
        HEALTH_PORT: opts.healthPortBase === undefined ? "0" : String(opts.healthPortBase + i),
        RTC_MIN_PORT: String(opts.rtcPortBase + i * 1000),
        RTC_MAX_PORT: String(opts.rtcPortBase + i * 1000 + 999),
        HEARTBEAT_MS: "1000",
        DRAIN_TIMEOUT_MS: "15000",
        DEBUG_IMPAIRMENT: opts.debugImpairment ? "1" : "0",
        ...opts.nodeEnv,
      }, nodeId, opts.verbose);
      children.push(node);
      nodes.push(node);
    }
    const want = nodes.length;
    await waitFor(async () => {
      const res = await fetch(`${url}/healthz`);
      return res.ok && ((await res.json()) as { healthyNodes: number }).healthyNodes >= want;
    }, 30_000, "media nodes did not connect", nodes[0]);
    const outputTails = () => children.map((c, i) => `--- ${i === 0 ? "worker" : `node-${i}`} (last lines)\n${outputTail(c)}`).join("\n");
    return { url, secret, tokenSecret, adminSecret, nodes, outputTails, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function turnVars(turn: SystemOptions["turn"]): string[] {
  if (!turn) return [];
  const vars = ["--var", `TURN_URLS:${turn.urls.join(",")}`, "--var", `TURN_SECRET:${turn.secret}`];
  return turn.ttlSeconds === undefined ? vars : [...vars, "--var", `TURN_TTL_S:${turn.ttlSeconds}`];
}

/**
 * The Node flags every media node runs with: here, in media-node/Dockerfile's ENTRYPOINT and in
 * deploy/edge-sfu-media-node.service (a unit test keeps the three the same).
 *
 * --max-semi-space-size=2 (MiB): V8's young generation otherwise grows to 16 MiB per semi-space
 * under the packet rate of a fan-out (short-lived buffers and objects per packet), ~32 MiB of RSS
 * that is garbage anyway; at 2 MiB, 1 → 50 subscribers cost ~650 KiB RSS each instead of ~1.4 MiB,
 * and CPU per forwarded packet was no higher (31 µs against 40–42 µs: the young generation stays in cache).
 */
export const MEDIA_NODE_FLAGS = ["--max-semi-space-size=2"];

/**
 * Runs the media node's entrypoint as a plain process, as the container does. With
 * MEDIA_NODE_CPU_PROF_DIR set, each node writes a V8 CPU profile there when it stops.
 */
export function startMediaNode(env: Record<string, string>, label: string, verbose?: boolean): ChildProcess {
  const profile = process.env.MEDIA_NODE_CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.MEDIA_NODE_CPU_PROF_DIR}`] : [];
  return launch(process.execPath, [...MEDIA_NODE_FLAGS, ...profile, "--import", "tsx", join(ROOT, "media-node/src/main.ts")], env, label, verbose);
}

function launch(cmd: string, args: string[], env: Record<string, string>, label: string, verbose?: boolean): ChildProcess {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    tail.push(text);
    if (tail.length > 50) tail.shift();
    if (verbose) process.stderr.write(text.replace(/^(?=.)/gm, `[${label}] `));
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  (child as ChildProcess & { outputTail: () => string }).outputTail = () => tail.join("");
  return child;
}

export function outputTail(child: ChildProcess | undefined): string {
  return (child as (ChildProcess & { outputTail?: () => string }) | undefined)?.outputTail?.() ?? "";
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what}: process exited with ${child.exitCode}\n${outputTail(child)}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} within ${timeoutMs} ms\n${outputTail(child)}`);
}

/** A node drains on SIGTERM (waiting for the worker to move its rooms); a second SIGTERM makes it exit at once. */
export async function stopNode(child: ChildProcess): Promise<void> {
  const again = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
  }, 1000);
  await terminate(child);
  clearTimeout(again);
}

/** Stops a child and everything it spawned (wrangler runs workerd as its own child). */
export function terminate(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-child.pid!, signal);
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
