import { readFileSync } from "node:fs";

/** CPU seconds (user + system, all threads) a process has used, from /proc/PID/stat. Linux only. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command name start at index 3 (state); utime and stime are the 14th and 15th.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/** Share of one core the process used over `ms` of wall time. */
export async function cpuShare(pid: number, ms: number): Promise<number> {
  const start = cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return (cpuSeconds(pid) - start) / ((performance.now() - t0) / 1000);
}

/** Resident set size of a process in MiB, from /proc/PID/status. Linux only. */
export function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return kb ? Number(kb) / 1024 : NaN;
}
