/**
 * Recovery benchmark: three Chromium participants in a room on one of two media nodes; the room's
 * node is killed (`kill -9`) or drained through the admin API, and the time until every browser
 * decodes every other participant again is measured.
 *
 *   npm run bench:failover -- [--runs 3] [--out bench/RESULTS.md]
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import { signAdminToken } from "@sfu/shared";
import { startSystem } from "../scripts/system.ts";
import { hostingNode, joinRoom, launchChromium } from "../test/support/browser.ts";
import { longestFrameGap, remoteStats, until, watchFrameGaps } from "../test/support/page-stats.ts";
import { writeSection } from "./results.ts";

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "3" }, out: { type: "string" }, timeline: { type: "boolean", default: false } } });
const runs = Number(args.runs);
const HEALTH_BASE = 17900;

/** The app's timeline marks after `t0` (epoch ms), as "what +ms". */
const marksSince = (page: Page, t0: number) =>
  page.evaluate((t0) => {
    const sfu = (window as unknown as { __sfu: { timeline(): Array<[string, number]> } }).__sfu;
    return sfu.timeline().map(([what, at]) => [what, Math.round(performance.timeOrigin + at - t0)] as const).filter(([, ms]) => ms >= 0).map(([what, ms]) => `${what} +${ms}`);
  }, t0);

const restarts = (page: Page) =>
  page.evaluate(() => (window as unknown as { __sfu: { timeline(): Array<[string, number]> } }).__sfu.timeline().filter(([w]) => w === "media restart").length);

async function once(mode: "kill" | "drain"): Promise<{ recoveredMs: number; gapMs: number }> {
  const system = await startSystem({ workerPort: 18810, inspectorPort: 19250, healthPortBase: HEALTH_BASE, rtcPortBase: 56000, nodes: 2 });
  const browser = await launchChromium();
  try {
    const room = `recovery-${Date.now()}`;
    const pages = await joinRoom(browser, system.url, room, ["Ada", "Grace", "Linus"]);
    const decodingBoth = (s: Awaited<ReturnType<typeof remoteStats>>) => Object.keys(s).length === 2 && Object.values(s).every((e) => (e.video?.framesDecoded ?? 0) > 0);
    for (const page of pages) await until("decoding", () => remoteStats(page), decodingBoth, { page });
    const victim = await hostingNode(HEALTH_BASE, 2);
    await Promise.all(pages.map(watchFrameGaps));
    const t0 = Date.now();
    if (mode === "kill") system.nodes[victim]!.kill("SIGKILL");
    else {
      const token = await signAdminToken(system.adminSecret, "bench", 60, Date.now());
      await fetch(`${system.url}/admin/nodes/node-${victim + 1}/drain`, { method: "POST", body: JSON.stringify({ draining: true }), headers: { authorization: `Bearer ${token}` } });
    }
    for (const page of pages) {
      await until("restarted", () => restarts(page), (n) => n > 0, { page });
      await until("decoding again", () => remoteStats(page), decodingBoth, { page });
      if (mode === "drain") await until("old connections closed", () => marksSince(page, t0), (m) => m.some((x) => x.startsWith("old media closed")), { page });
    }
    // What a user sees: the longest time any remote tile went without a new frame.
    const gapMs = Math.round(Math.max(...(await Promise.all(pages.map(longestFrameGap))).flat()));
    // When each page showed its first frame from each other participant after the event (the
    // page's own clock, not the poll above): recovery is the latest of them.
    const shown = await Promise.all(pages.map(async (page) => {
      const frames = (await marksSince(page, t0)).filter((m) => m.startsWith("frame from "));
      const last = new Map(frames.map((m) => [m.split(" +")[0], Number(m.split(" +")[1])]));
      return last.size === 2 ? Math.max(...last.values()) : Number.NaN;
    }));
    const done = shown.some(Number.isNaN) ? Date.now() - t0 : Math.max(...shown);
    if (args.timeline) for (const [i, page] of pages.entries()) console.log(`  page ${i + 1}: ${(await marksSince(page, t0)).join(", ")}`);
    return { recoveredMs: done, gapMs };
  } finally {
    await browser.close();
    await system.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<"kill" | "drain", Array<{ recoveredMs: number; gapMs: number }>> = { kill: [], drain: [] };
for (let i = 0; i < runs; i++) {
  for (const mode of ["kill", "drain"] as const) {
    const r = await once(mode);
    results[mode].push(r);
    console.log(`${mode} run ${i + 1}: every browser showing the others from the new node after ${r.recoveredMs} ms; longest gap between frames on any tile ${r.gapMs} ms`);
  }
}
const row = (name: string, rs: Array<{ recoveredMs: number; gapMs: number }>) =>
  `| ${name} | ${median(rs.map((r) => r.gapMs))} ms (${rs.map((r) => r.gapMs).join(", ")}) | ${median(rs.map((r) => r.recoveredMs))} ms (${rs.map((r) => r.recoveredMs).join(", ")}) |`;
const report = `## Recovery: the room's media node fails or is drained (${new Date().toISOString().slice(0, 10)})

Command: \`npm run bench:failover -- --runs ${runs}\`
Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; 3 headless Chromium participants, 2 media nodes dialled in to the worker over their sockets; a closed socket is down after NODE_RECONNECT_GRACE_MS (500 ms); a drain is make-before-break.
Longest gap: the longest time any remote tile in any page went without a new frame, from the event on (what a user sees).
New node: from the event until all three pages have shown a frame from both others on the new node's tracks (each page's \`requestVideoFrameCallback\` time).

| event | longest gap between frames, median (runs) | on the new node, median (runs) |
|---|---|---|
${row("`kill -9` of the room's node", results.kill)}
${row("drain of the room's node (admin API)", results.drain)}
`;
console.log(`\n${report}`);
if (args.out) writeSection(args.out, "bench:failover", report);
process.exit(0);
