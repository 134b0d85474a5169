import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSystem, type RunningSystem } from "../../scripts/system.ts";
import { hostingNode, joinRoom, launchChromium } from "../support/browser.ts";
import { remoteStats, until, type RemoteStats } from "../support/page-stats.ts";

const HEALTH_BASE = 17600;
let system: RunningSystem;
let browser: Browser;

beforeAll(async () => {
  system = await startSystem({ workerPort: 18792, inspectorPort: 19234, healthPortBase: HEALTH_BASE, rtcPortBase: 52000, nodes: 2 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

const decodesAll = (others: number) => (s: Record<string, RemoteStats>) =>
  Object.keys(s).length === others && Object.values(s).every((e) => (e.video?.framesDecoded ?? 0) > 0 && (e.audio?.totalSamplesReceived ?? 0) > 0);

const roster = (page: Page) =>
  page.evaluate(() => (window as unknown as { __sfu: { state(): { participants: Array<{ id: string; name: string }> } } }).__sfu.state().participants.map((p) => `${p.id}:${p.name}`).sort());
const restarted = (page: Page) =>
  page.evaluate(() => (window as unknown as { __sfu: { timeline(): Array<[string, number]> } }).__sfu.timeline().some(([what]) => what === "media restart"));

describe("a media node dies under a room", () => {
  it("the room moves to the other node and every browser decodes again, with the same roster", async () => {
    const room = `failover-${Date.now()}`;
    const pages = await joinRoom(browser, system.url, room, ["Ada", "Grace", "Linus"]);
    for (const page of pages) await until("decoding before the failure", () => remoteStats(page), decodesAll(2), { page });
    const rosters = await Promise.all(pages.map(roster));

    const victim = await hostingNode(HEALTH_BASE, system.nodes.length);
    expect(victim).toBeGreaterThanOrEqual(0);
    const killedAt = Date.now();
    system.nodes[victim]!.kill("SIGKILL");

    for (const page of pages) {
      await until("media restarted after the failure", () => restarted(page), (r) => r, { page });
      await until("decoding again on the other node", () => remoteStats(page), decodesAll(2), { page });
    }
    const recoveredMs = Date.now() - killedAt;
    console.log(`[metric] kill -9 of the room's node → every browser decoding again: ${recoveredMs} ms`);

    const survivor = ((await (await fetch(`http://127.0.0.1:${HEALTH_BASE + (1 - victim)}/healthz`)).json()) as { rooms: number }).rooms;
    expect(survivor).toBe(1);
    expect(await Promise.all(pages.map(roster))).toEqual(rosters);
    expect(await pages[0]!.locator(".tile").count()).toBe(3);
  });
});
