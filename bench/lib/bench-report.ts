/** Tables and the summary (ours vs mediasoup and vs Janus) for bench.ts. */

export interface Row {
  n: number;
  pps: number;
  /** SFU CPU, share of one core. */
  cpu: number;
  cpuPerStream: number;
  usPerPkt: number;
  p50: number;
  p99: number;
  loss: number;
  /** Publisher streams that some subscriber did not receive at all during the window (counted in `loss`). */
  missingStreams?: number;
  rss: number;
  /** (RSS at this step − RSS before any subscriber) / N, in KiB. */
  memPerSub: number;
  genCpu: number;
  genElu: number;
  /** p99 of the generator's event-loop delay (ms). */
  genLag: number;
  genBound: boolean;
  joinSeconds: number;
  /** Other processes' use of CPU 0 (the SFU's) and CPU 1 (the generator's) during the window, share of a core. */
  otherCpu0: number;
  otherCpu1: number;
  contended: boolean;
  /** Set when this is a second window because the first failed; says how the first failed. */
  retriedAfter?: string;
}

export const passes = (r: Row) => r.loss < 0.01 && r.p99 < 50 && !r.genBound;

export function table(rows: Row[]): string {
  return [
    "| N | forwarded pkt/s | SFU CPU (% of a core) | CPU per stream | µs CPU per forwarded packet | latency p50 / p99 (ms) | loss | SFU RSS (MiB) | RSS per subscriber | generator CPU / event loop / loop delay p99 | other work on CPU 0 / CPU 1 | verdict |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) =>
      `| ${r.n} | ${r.pps.toFixed(0)} | ${(r.cpu * 100).toFixed(1)} | ${(r.cpuPerStream * 100).toFixed(3)} % | ${r.usPerPkt.toFixed(1)} | ${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} | ${(r.loss * 100).toFixed(2)} % | ${r.rss.toFixed(0)} | ${r.memPerSub.toFixed(0)} KiB | ${(r.genCpu * 100).toFixed(0)} % / ${(r.genElu * 100).toFixed(0)} % / ${r.genLag.toFixed(0)} ms | ${(r.otherCpu0 * 100).toFixed(0)} % / ${(r.otherCpu1 * 100).toFixed(0)} % | ${verdict(r)} |`),
  ].join("\n");
}

function verdict(r: Row): string {
  const retry = r.retriedAfter ? ` (second window; first: ${r.retriedAfter})` : "";
  if (r.genBound) return `generator-bound (figures belong to the generator)${retry}`;
  if (passes(r)) return `pass${retry}`;
  return `${r.loss >= 0.01 ? "fail: loss ≥ 1 %" : "fail: p99 ≥ 50 ms"}${r.contended ? " while contended" : ""}${retry}`;
}

/** The SFU process before any participant joined. */
export interface Idle {
  rss: number;
  /** Share of one core. */
  cpu: number;
  seconds: number;
}

export interface SfuResult {
  /** "ours", "mediasoup" or "janus". */
  key: string;
  name: string;
  rows: Row[];
  sockets: string;
  idle: Idle | undefined;
  /** What the publishers sent, per stream. */
  sent: string;
}

interface Summary {
  name: string;
  largestPassing: Row | undefined;
  perCore: number;
}

function summary(name: string, rows: Row[]): Summary {
  const largestPassing = rows.filter(passes).at(-1);
  const basis = largestPassing ?? rows.at(-1);
  return { name, largestPassing, perCore: basis ? 1 / basis.cpuPerStream : NaN };
}

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "n/a");
const f = (x: number | undefined, digits: number, unit = "") => (x === undefined || !Number.isFinite(x) ? "n/a" : `${x.toFixed(digits)}${unit}`);

export function summarize(results: SfuResult[]): string {
  const sums = results.map((r) => summary(r.name, r.rows));
  const lines = [
    "### Summary",
    "",
    "| SFU | largest N passing (< 1 % loss, p99 < 50 ms, generator not the limit: < 90 % CPU and event loop, loop delay p99 < 20 ms) | CPU per subscriber there | max subscribers per core (extrapolated: 1 / CPU per subscriber) |",
    "|---|---|---|---|",
    ...sums.map((s) => `| ${s.name} | ${s.largestPassing?.n ?? "none"} | ${s.largestPassing ? `${(s.largestPassing.cpuPerStream * 100).toFixed(3)} %` : "n/a"} | ${Number.isFinite(s.perCore) ? s.perCore.toFixed(0) : "n/a"}${s.largestPassing ? "" : " (from the last row, which failed)"} |`),
  ];
  const byKey = new Map(results.map((r) => [r.key, r]));
  const ours = byKey.get("ours");
  const ms = byKey.get("mediasoup");
  const janus = byKey.get("janus");
  // The goal's figures: at N = 100, or the largest N every SFU in the run reached.
  const reached = results.map((r) => new Set(r.rows.map((row) => row.n)));
  const commonNs = (results[0]?.rows ?? []).map((r) => r.n).filter((n) => reached.every((set) => set.has(n)));
  const target = commonNs.includes(100) ? 100 : commonNs.at(-1);
  const at = (r: SfuResult | undefined, n: number | undefined) => r?.rows.find((row) => row.n === n);
  if (target !== undefined) {
    lines.push(
      "",
      `At N = ${target}${target === 100 ? "" : " (the largest N every SFU in this run reached; the goal is stated at 100)"} and idle:`,
      "",
      "| SFU | µs CPU per forwarded packet | latency p99 (ms) | loss | RSS per subscriber | idle RSS (MiB) | idle CPU (% of a core) | SFU CPU at N = 10 (% of a core) |",
      "|---|---|---|---|---|---|---|---|",
      ...results.map((r) => {
        const row = at(r, target);
        return `| ${r.name} | ${f(row?.usPerPkt, 1)} | ${f(row?.p99, 2)} | ${row ? `${(row.loss * 100).toFixed(2)} %` : "n/a"} | ${f(row?.memPerSub, 0, " KiB")} | ${f(r.idle?.rss, 0)} | ${f(r.idle ? r.idle.cpu * 100 : undefined, 2)} | ${f(at(r, 10) ? at(r, 10)!.cpu * 100 : undefined, 1)} |`;
      }),
    );
    if (ours && (ms || janus)) {
      const o = at(ours, target);
      lines.push("", `Ratios (ours / peer; < 1 means ours uses less or is faster):`, "", "| peer | µs per forwarded packet at N = " + target + " | latency p99 at N = " + target + " | RSS per subscriber at N = " + target + " | idle RSS | idle CPU | SFU CPU at N = 10 |", "|---|---|---|---|---|---|---|");
      for (const peer of [ms, janus]) {
        if (!peer) continue;
        const p = at(peer, target);
        lines.push(`| ${peer.name} | ${ratio(o?.usPerPkt, p?.usPerPkt)} | ${ratio(o?.p99, p?.p99)} | ${ratio(o?.memPerSub, p?.memPerSub)} | ${ratio(ours.idle?.rss, peer.idle?.rss)} | ${ratio(ours.idle?.cpu, peer.idle?.cpu)} | ${ratio(at(ours, 10)?.cpu, at(peer, 10)?.cpu)} |`);
      }
    }
  }
  return lines.join("\n");
}
