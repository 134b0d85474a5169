/** Shared measurement helpers for bench.ts and loadtest.ts. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";

/** Pins every thread of `pid` to `cpu` with taskset; false when taskset is missing or fails. */
export function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

export function machineLine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`;
}

export interface GeneratorFigures {
  cpu: number;
  elu: number;
  /** p99 of the event loop's delay (ms): how late this process may have read a datagram. */
  lagP99: number;
}

/** This process's CPU (share of a core), event-loop utilisation and event-loop delay since it was created. */
export class GeneratorLoad {
  private readonly cpu0 = process.cpuUsage();
  private readonly elu0 = performance.eventLoopUtilization();
  private readonly t0 = performance.now();
  private readonly lag = monitorEventLoopDelay({ resolution: 5 });

  constructor() {
    this.lag.enable();
  }

  read(): GeneratorFigures {
    this.lag.disable();
    const used = process.cpuUsage(this.cpu0);
    const wallUs = (performance.now() - this.t0) * 1000;
    return { cpu: (used.user + used.system) / wallUs, elu: performance.eventLoopUtilization(this.elu0).utilization, lagP99: this.lag.percentile(99) / 1e6 };
  }
}

/**
 * A generator at ≥ 90 % of its core or event loop, or whose event loop ran ≥ 20 ms late at p99,
 * cannot vouch for the SFU's latency and loss.
 */
export const generatorBound = (g: GeneratorFigures) => g.elu >= 0.9 || g.cpu >= 0.9 || g.lagP99 >= 20;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups = new Set<() => Promise<void>>();
let interrupted = false;
/** Runs `fn` if the user interrupts (Ctrl-C) the tool, so no SFU or system outlives it; returns an unregister function. */
export function onInterrupt(fn: () => Promise<void>): () => void {
  if (cleanups.size === 0 && !interrupted) {
    process.once("SIGINT", () => {
      interrupted = true;
      void Promise.allSettled([...cleanups].map((f) => f())).then(() => process.exit(130));
    });
  }
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Busy seconds (everything but idle and iowait) of CPU `index` since boot, from /proc/stat. */
export function cpuBusySeconds(index: number): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${index} `));
  if (!line) return NaN;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100;
}
