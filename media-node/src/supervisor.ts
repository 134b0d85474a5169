import { spawn, type ChildProcess } from "node:child_process";
import { TimerScheduler } from "./clock.ts";
import { workerEnv, type Config } from "./config.ts";
import { serveHealth } from "./health.ts";
import { log } from "./log.ts";

const MAX_RESTART_DELAY_MS = 10_000;
/** Beyond the workers' own drain timeout, how long the supervisor waits before it kills them. */
const STOP_MARGIN_MS = 5000;

/** What a worker tells its supervisor over IPC whenever it changes. */
export interface WorkerState {
  type: "state";
  connected: boolean;
  draining: boolean;
}

interface Worker {
  child: ChildProcess;
  state?: WorkerState;
}

/**
 * Runs WORKERS node processes from this same entrypoint (so it works for the TypeScript source and
 * the bundle alike) and restarts one that dies, with backoff. SIGTERM/SIGINT make every worker drain
 * (asked over IPC, so a signal sent to the whole process group is not counted twice) and the
 * supervisor waits for them; a second signal kills them.
 */
export function supervise(config: Config): void {
  const workers = new Map<number, Worker>();
  const scheduler = new TimerScheduler();
  let stopping = false;

  const start = (i: number, restarts: number) => {
    const env = workerEnv(config, i, config.WORKERS);
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!], {
      env: { ...process.env, ...env },
      stdio: ["inherit", "inherit", "inherit", "ipc"],
    });
    const worker: Worker = { child };
    workers.set(i, worker);
    child.on("message", (msg: WorkerState) => {
      if (msg?.type === "state") worker.state = msg;
    });
    const startedAt = scheduler.clock.now();
    child.once("exit", (code, signal) => {
      workers.delete(i);
      if (stopping) {
        log("info", "node worker stopped", { worker: i, code, signal, left: workers.size });
        if (workers.size === 0) process.exit(0);
        return;
      }
      // A worker that ran for a while starts over at the shortest delay.
      const attempt = scheduler.clock.now() - startedAt > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** attempt);
      log("warn", "node worker exited; restarting", { worker: i, code, signal, inMs: delay });
      scheduler.after(delay, () => start(i, attempt));
    });
  };

  for (let i = 0; i < config.WORKERS; i++) start(i, 0);
  log("info", "supervising node workers", { workers: config.WORKERS });

  if (config.HEALTH_PORT !== 0) {
    void serveHealth(config.HEALTH_PORT, {
      healthz: () => {
        const list = Array.from({ length: config.WORKERS }, (_, i) => {
          const w = workers.get(i);
          return { worker: i, nodeId: `${config.NODE_ID}-${i}`, pid: w?.child.pid ?? null, connected: w?.state?.connected ?? false, draining: w?.state?.draining ?? false };
        });
        const ok = !stopping && list.every((w) => w.connected);
        return { status: ok ? 200 : 503, body: { ok, nodeId: config.NODE_ID, stopping, pid: process.pid, workers: list } };
      },
    }).catch((err: Error) => {
      log("error", "health endpoint failed", { port: config.HEALTH_PORT, error: err.message });
      process.exit(1);
    });
  }

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log("warn", "second signal: killing node workers", { signal, workers: workers.size });
      for (const { child } of workers.values()) child.kill("SIGKILL");
      process.exit(1);
    }
    stopping = true;
    const waitMs = config.DRAIN_TIMEOUT_MS + STOP_MARGIN_MS;
    log("info", "stopping: node workers drain", { signal, workers: workers.size, waitMs });
    if (workers.size === 0) process.exit(0);
    for (const { child } of workers.values()) {
      if (child.connected) child.send({ type: "drain" });
      else child.kill("SIGTERM");
    }
    scheduler.after(waitMs, () => {
      log("warn", "node workers did not stop in time; killing them", { workers: workers.size });
      for (const { child } of workers.values()) child.kill("SIGKILL");
      process.exit(1);
    });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
