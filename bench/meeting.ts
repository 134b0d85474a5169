/**
 * The meeting as a person meets it, in real headless Chromium against the local system:
 *
 * 1. Join → first remote frame: Ada is in the room; Grace opens the room's link, sees the pre-join
 *    screen (camera preview, mic meter), types her name and clicks Join. Measured on Grace's page
 *    from the click to the first frame of Ada on screen, with the steps in between.
 * 2. CPU of three pages in a call, without and then with one screen share (Ada shares): the
 *    Chromium processes' CPU and the media node's, each as a share of one core.
 *
 *   npm run bench:meeting -- [--runs 5] [--seconds 20] [--out bench/RESULTS.md]
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

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "5" }, seconds: { type: "string", default: "20" }, out: { type: "string" } } });
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

const pct = (x: number) => `${Math.round(x * 100)} %`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const system = await startSystem({ workerPort: 18830, inspectorPort: 19270, healthPortBase: 17950, rtcPortBase: 57000, nodes: 1 });
const browser = await launchChromium();
try {
  // 1. Join → first remote frame.
  const joins: JoinRun[] = [];
  for (let i = 0; i < runs; i++) {
    const room = `join-${Date.now()}`;
    const [ada] = await joinRoom(browser, system.url, room, ["Ada"]);
    joins.push(await joinFromLobby(browser, system, room));
    await ada!.context().close();
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
  if (args.out) writeSection(args.out, "meeting", report);
} finally {
  await browser.close();
  await system.stop();
}
