/** Tables and the ours-vs-Janus summary for bench.ts. */

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

const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "n/a");

export function summarize(results: Array<{ name: string; rows: Row[] }>): string {
  const sums = results.map((r) => summary(r.name, r.rows));
  const lines = [
    "### Summary",
    "",
    "| SFU | largest N passing (< 1 % loss, p99 < 50 ms, generator not the limit: < 90 % CPU and event loop, loop delay p99 < 20 ms) | CPU per stream there | max subscribers per core (extrapolated: 1 / CPU per stream) |",
    "|---|---|---|---|",
    ...sums.map((s) => `| ${s.name} | ${s.largestPassing?.n ?? "none"} | ${s.largestPassing ? `${(s.largestPassing.cpuPerStream * 100).toFixed(3)} %` : "n/a"} | ${Number.isFinite(s.perCore) ? s.perCore.toFixed(0) : "n/a"}${s.largestPassing ? "" : " (from the last row, which failed)"} |`),
  ];
  if (results.length === 2) {
    const [a, b] = results as [{ name: string; rows: Row[] }, { name: string; rows: Row[] }];
    const common = a.rows.filter((r) => passes(r) && b.rows.some((o) => o.n === r.n && passes(o))).at(-1)?.n;
    const ra = a.rows.find((r) => r.n === common);
    const rb = b.rows.find((r) => r.n === common);
    lines.push("");
    if (ra && rb) {
      lines.push(
        `Ratios ours / Janus (at N = ${common}, the largest N both passed; < 1 means ours uses less or is faster):`,
        "",
        "| CPU per stream | max subscribers per core | latency p50 | latency p99 | memory per subscriber |",
        "|---|---|---|---|---|",
        `| ${ratio(ra.cpuPerStream, rb.cpuPerStream)} | ${ratio(sums[0]!.perCore, sums[1]!.perCore)} | ${ratio(ra.p50, rb.p50)} | ${ratio(ra.p99, rb.p99)} | ${ratio(ra.memPerSub, rb.memPerSub)} |`,
      );
    } else {
      lines.push(`No N passed for both SFUs; max subscribers per core ours / Janus: ${ratio(sums[0]!.perCore, sums[1]!.perCore)}.`);
    }
  }
  return lines.join("\n");
}
