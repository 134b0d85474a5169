/**
 * The meeting as a person meets it, in real headless Chromium against the local system:
 *
 * 1. Join → first remote frame: Ada is in the room; Grace opens the room's link, sees the pre-join
 *    screen (camera preview, mic meter), types her name and clicks Join. Measured on Grace's page
 *    from the click to the first frame of Ada on screen, with the steps in between.
 * 2. CPU of three pages in a call, without and then with one screen share (Ada shares): the
 *    Chromium processes' CPU and the media node's, each as a share of one core.
 *
 * 0. Page load → first remote frame (`--only load` runs just this): Ada and Linus are in the room;
 *    Grace opens the room link with `?name=` (which joins at once, no pre-join screen) in a fresh
 *    page. Every step is timed from her navigation start: the page's own marks (window.__sfu
 *    timeline) and, from the media node's debug log, its ICE and DTLS of her subscriber.
 *
 *   npm run bench:meeting -- [--runs 5] [--seconds 20] [--only load|lobby|cpu] [--port-offset N] [--verbose] [--out bench/RESULTS.md]
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { startSystem, type RunningSystem } from "../scripts/system.ts";
import { joinRoom, launchChromium } from "../test/support/browser.ts";
import { cpuSeconds } from "../test/support/proc-cpu.ts";
import { remoteStats, until } from "../test/support/page-stats.ts";
import { writeSection } from "./results.ts";

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "5" }, seconds: { type: "string", default: "20" }, out: { type: "string" }, only: { type: "string" }, "port-offset": { type: "string", default: "0" }, verbose: { type: "boolean", default: false } } });
const only = args.only;
const runs = Number(args.runs);
const seconds = Number(args.seconds);

interface JoinRun {
  totalMs: number;
  steps: Array<[string, number]>;
}

/** Grace joins from the pre-join screen; ms from her click on Join to each step and to Ada's first frame. */
async function joinFromLobby(browser: Browser, system: RunningSystem, room: string): Promise<JoinRun> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${system.url}/${room}`);
  await until("the camera preview plays", () => page.evaluate(() => (document.querySelector("#preview") as HTMLVideoElement).readyState >= 2), (ok) => ok, { page });
  await page.locator("#lobby input[name=name]").fill("Grace");
  await page.evaluate(() => {
    document.querySelector("#lobby button[type=submit]")!.addEventListener("click", () => ((window as unknown as { clickedAt: number }).clickedAt = performance.now()), { capture: true });
  });
  await page.locator("#lobby button[type=submit]").click();
  await until("Grace sees Ada", () => page.evaluate(() => (window as unknown as { __sfu: { firstFrameMs(): number | null } }).__sfu.firstFrameMs()), (ms) => ms !== null, { page });
  const { clickedAt, first, timeline } = await page.evaluate(() => {
    const w = window as unknown as { clickedAt: number; __sfu: { firstFrameMs(): number | null; timeline(): Array<[string, number]> } };
    return { clickedAt: w.clickedAt, first: w.__sfu.firstFrameMs()!, timeline: w.__sfu.timeline() };
  });
  const wanted = ["signaling open", "joined", "publish answer", "subscriber offer", "subscriber connected", "first remote frame"];
  const steps = timeline.filter(([what, at]) => wanted.includes(what) && at >= clickedAt).map(([what, at]) => [what, Math.round(at - clickedAt)] as [string, number]);
  await page.context().close();
  return { totalMs: Math.round(first - clickedAt), steps };
}

/** The steps of a join from page load, in the order they usually happen (a run may lack some). */
const LOAD_STEPS = [
  "html received",
  "script run",
  "token fetched",
  "signaling open",
  "joined arrived",
  "joined",
  "node: subscriber offer making",
  "node: subscriber offer made",
  "subscriber-offer arrived",
  "subscriber offer",
  "subscriber answer sent",
  "node: subscriber ice checking",
  "subscriber ice checking",
  "subscriber ice connected",
  "node: subscriber ice connected",
  "node: subscriber dtls connecting",
  "node: subscriber dtls connected",
  "subscriber dtls connected",
  "subscriber connected",
  "subscriber first rtp video",
  "first remote frame",
  "local media",
  "publish offer sent",
  "publish-answer arrived",
  "publish answer",
  "publisher connected",
];

interface LoadRun {
  totalMs: number;
  /** Step → ms after Grace's navigation start (first occurrence). */
  steps: Map<string, number>;
}

/** The media node's debug lines (JSON), as they come, with their wall-clock time. */
const nodeLines: Array<{ t: number; msg: string; participantId?: string; state?: string }> = [];
type NodeLine = { t: string; msg: string; participantId?: string; state?: string; action?: string; ms?: number };
function collectNodeLog(system: RunningSystem): void {
  let rest = "";
  system.nodes[0]!.stderr?.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      try {
        const j = JSON.parse(line) as NodeLine;
        if (j.msg.startsWith("subscriber ") || j.msg.startsWith("publisher ")) nodeLines.push({ ...j, t: Date.parse(j.t) });
        // The edge's requests for a participant: when each came in and when it was answered.
        if (j.msg === "edge request" && j.action !== "candidate" && j.ms !== undefined) {
          nodeLines.push({ msg: `${j.action} in`, participantId: j.participantId, t: Date.parse(j.t) - j.ms });
          nodeLines.push({ msg: `${j.action} out`, participantId: j.participantId, t: Date.parse(j.t) });
        }
      } catch {
        // not a log line
      }
    }
  });
}

/** Grace opens the room link (`?name=Grace`: joins at once); ms from her navigation start to each step. */
async function joinFromLoad(browser: Browser, system: RunningSystem, room: string): Promise<LoadRun> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${system.url}/${room}?name=Grace`, { waitUntil: "commit" });
  await until("Grace sees a remote frame", () => page.evaluate(() => (window as unknown as { __sfu?: { firstFrameMs(): number | null } }).__sfu?.firstFrameMs() ?? null), (ms) => ms !== null, { page });
  // The rest of the steps (the node's log lines) settle.
  await new Promise((r) => setTimeout(r, 300));
  const seen = await page.evaluate(() => {
    const w = window as unknown as { __sfu: { firstFrameMs(): number | null; timeline(): Array<[string, number]>; state(): { selfId: string | undefined } } };
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
    return { origin: performance.timeOrigin, first: w.__sfu.firstFrameMs()!, timeline: w.__sfu.timeline(), selfId: w.__sfu.state().selfId, html: nav?.responseEnd ?? null };
  });
  const steps = new Map<string, number>();
  if (seen.html !== null) steps.set("html received", Math.round(seen.html));
  for (const [what, at] of seen.timeline) if (!steps.has(what)) steps.set(what, Math.round(at));
  for (const line of nodeLines) {
    if (line.participantId !== seen.selfId) continue;
    const what = `node: ${line.msg}${line.state ? ` ${line.state}` : ""}`;
    if (!steps.has(what)) steps.set(what, Math.round(line.t - seen.origin));
  }
  await page.context().close();
  return { totalMs: Math.round(seen.first), steps };
}

function stepTable(runs: LoadRun[]): string[] {
  const names = [...LOAD_STEPS, ...new Set(runs.flatMap((r) => [...r.steps.keys()]).filter((s) => !LOAD_STEPS.includes(s) && !/^(frame from|active speaker|holding|media on)/.test(s)))];
  const rows = names.flatMap((name) => {
    const xs = runs.map((r) => r.steps.get(name)).filter((x): x is number => x !== undefined);
    return xs.length ? [`| ${name} | ${median(xs)} | ${Math.min(...xs)} | ${Math.max(...xs)} | ${xs.length} |`] : [];
  });
  return ["| step (ms after navigation start) | p50 | min | max | runs |", "|---|---|---|---|---|", ...rows];
}

/** Every Chromium process of ours (the browser and its renderers, GPU and utility processes). */
function chromiumPids(): number[] {
  try {
    return execFileSync("pgrep", ["-f", "chromium"], { encoding: "utf8" }).trim().split("\n").map(Number).filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

/** CPU (share of one core) of Chromium and of the media node over `ms`. */
async function cpuOver(node: number, ms: number): Promise<{ chromium: number; node: number }> {
  const sum = (pids: number[]) => pids.reduce((s, pid) => {
    try {
      return s + cpuSeconds(pid);
    } catch {
      return s; // a process that ended meanwhile
    }
  }, 0);
  const pids = chromiumPids();
  const [c0, n0, t0] = [sum(pids), cpuSeconds(node), performance.now()];
  await new Promise((r) => setTimeout(r, ms));
  const wall = (performance.now() - t0) / 1000;
  return { chromium: (sum(pids) - c0) / wall, node: (cpuSeconds(node) - n0) / wall };
}

const decodingEveryone = (others: number, screens: number) => (s: Awaited<ReturnType<typeof remoteStats>>) =>
  Object.keys(s).length === others &&
  Object.values(s).every((e) => (e.video?.framesDecoded ?? 0) > 0) &&
  Object.values(s).filter((e) => ((e as { screen?: { framesDecoded: number } }).screen?.framesDecoded ?? 0) > 0).length === screens;

/** Ends a partial run (--only) early. */
class Done extends Error {}
/** The page has joined its room (it has a participant id). */
const joinedYet = (page: Page) => page.evaluate(() => Boolean((window as unknown as { __sfu: { state(): { selfId: string | undefined } } }).__sfu.state().selfId));

const pct = (x: number) => `${Math.round(x * 100)} %`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// --port-offset: another copy of this bench (another checkout) may hold the default ports.
const off = Number(args["port-offset"]);
const system = await startSystem({ workerPort: 18830 + off, inspectorPort: 19270 + off, healthPortBase: 17950 + off, rtcPortBase: 57000 + off * 10, nodes: 1, nodeEnv: { LOG_LEVEL: "debug" } });
collectNodeLog(system);
const browser = await launchChromium();
/** The page-load section of the report (its table), once run. */
let loadReport: string[] = [];
try {
  // 0. Page load → first remote frame.
  if (!only || only === "load") {
    const loads: LoadRun[] = [];
    // One join before the runs, so a cold worker (its first room object, the bundle) is not measured.
    const [warm] = await joinRoom(browser, system.url, `warm-${Date.now()}`, ["Warm"]);
    await until("warm-up joined", () => joinedYet(warm!), (ok) => ok, { page: warm! });
    await warm!.context().close();
    for (let i = 0; i < runs; i++) {
      const room = `load-${Date.now()}`;
      const present = await joinRoom(browser, system.url, room, ["Ada", "Linus"]);
      for (const page of present) await until("decoding", () => remoteStats(page), decodingEveryone(1, 0), { page });
      loads.push(await joinFromLoad(browser, system, room));
      for (const page of present) await page.context().close();
    }
    const totals = loads.map((l) => l.totalMs);
    console.log((loadReport = [
      `**Page load → first remote frame** (Grace opens \`/<room>?name=Grace\` in a fresh page; Ada and Linus already in the room), ${runs} runs: p50 ${median(totals)} ms, min ${Math.min(...totals)}, max ${Math.max(...totals)} (runs: ${totals.join(", ")}).`,
      "",
      ...stepTable(loads),
      "",
    ]).join("\n"));
    if (args.verbose) for (const [i, l] of loads.entries()) console.log(`run ${i + 1}: ${[...l.steps].sort((a, b) => a[1] - b[1]).map(([w, ms]) => `${w} ${ms}`).join(", ")}`);
  }
  if (only === "load") throw new Done();
  // 1. Join → first remote frame.
  const joins: JoinRun[] = [];
  for (let i = 0; i < (only && only !== "lobby" ? 0 : runs); i++) {
    const room = `join-${Date.now()}`;
    const [ada] = await joinRoom(browser, system.url, room, ["Ada"]);
    joins.push(await joinFromLobby(browser, system, room));
    await ada!.context().close();
  }
  if (only === "lobby") {
    console.log(`Join → first remote frame (from the click): p50 ${median(joins.map((j) => j.totalMs))} ms`, joins.map((j) => j.steps));
    throw new Done();
  }
  // 2. Three pages, then one of them sharing its screen.
  const room = `share-${Date.now()}`;
  const pages = await joinRoom(browser, system.url, room, ["Ada", "Grace", "Linus"]);
  for (const page of pages) await until("decoding", () => remoteStats(page), decodingEveryone(2, 0), { page });
  await new Promise((r) => setTimeout(r, 3000));
  const node = system.nodes[0]!.pid!;
  const without = await cpuOver(node, seconds * 1000);
  await pages[0]!.locator("#share").click();
  for (const page of pages.slice(1)) await until("decoding the share", () => remoteStats(page), decodingEveryone(2, 1), { page: page as Page });
  await new Promise((r) => setTimeout(r, 3000));
  const withShare = await cpuOver(node, seconds * 1000);
  const shared = Object.values(await remoteStats(pages[1]!)).find((e) => e.name === "Ada") as { screen?: { frameWidth: number; frameHeight: number } } | undefined;

  const report = [
    `## The meeting in Chromium: join time, and CPU with a screen share (${new Date().toISOString().slice(0, 10)})`,
    "",
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; wrangler dev + 1 media node + headless Chromium (fake camera and mic) on 127.0.0.1.`,
    `Command: \`npm run bench:meeting -- --runs ${runs} --seconds ${seconds}\``,
    "",
    ...loadReport,
    `**Join → first remote frame** (Grace clicks Join on the pre-join screen; Ada already in the room), ${runs} runs: p50 ${median(joins.map((j) => j.totalMs))} ms, min ${Math.min(...joins.map((j) => j.totalMs))}, max ${Math.max(...joins.map((j) => j.totalMs))}.`,
    "",
    "| run | total ms | steps (ms after the click) |",
    "|---|---|---|",
    ...joins.map((j, i) => `| ${i + 1} | ${j.totalMs} | ${j.steps.map(([w, ms]) => `${w} ${ms}`).join(", ")} |`),
    "",
    `**CPU of three pages in one call** (all Chromium processes together; share of one core; ${seconds} s each; the shared screen arrived at ${shared?.screen?.frameWidth ?? "?"}×${shared?.screen?.frameHeight ?? "?"}):`,
    "",
    "| | Chromium (3 pages) | media node |",
    "|---|---|---|",
    `| cameras only | ${pct(without.chromium)} | ${pct(without.node)} |`,
    `| plus one screen share | ${pct(withShare.chromium)} | ${pct(withShare.node)} |`,
    "",
  ].join("\n");
  console.log(report);
  // A partial run (--only) has no full report to keep.
  if (args.out && !only) writeSection(args.out, "meeting", report);
} catch (err) {
  if (!(err instanceof Done)) throw err;
} finally {
  await browser.close();
  await system.stop();
}
