import { spawn, type ChildProcess } from "node:child_process";
import { workerEnv, type Config } from "./config.ts";
import { log } from "./log.ts";

const MAX_RESTART_DELAY_MS = 10_000;

/**
 * Runs WORKERS node processes from this same entrypoint (so it works for the TypeScript source and
 * the bundle alike), restarts one that dies, with backoff, and stops them all on SIGINT/SIGTERM.
 */
export function supervise(config: Config): void {
  const children = new Map<number, ChildProcess>();
  let stopping = false;

  const start = (i: number, restarts: number) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!], {
      env: { ...process.env, ...workerEnv(config, i, config.WORKERS) },
      stdio: "inherit",
    });
    children.set(i, child);
    const startedAt = Date.now();
    child.once("exit", (code, signal) => {
      children.delete(i);
      if (stopping) return;
      // A worker that ran for a while starts over at the shortest delay.
      const attempt = Date.now() - startedAt > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** attempt);
      log("warn", "node worker exited; restarting", { worker: i, code, signal, inMs: delay });
      setTimeout(() => start(i, attempt), delay);
    });
  };

  for (let i = 0; i < config.WORKERS; i++) start(i, 0);
  log("info", "supervising node workers", { workers: config.WORKERS });

  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const child of children.values()) child.kill(signal);
    setTimeout(() => process.exit(0), 2000).unref();
    if (children.size === 0) process.exit(0);
    let left = children.size;
    for (const child of children.values()) child.once("exit", () => --left === 0 && process.exit(0));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}
