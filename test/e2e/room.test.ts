import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useChromium, useSystem } from "../support/hooks.ts";
import { joinRoom } from "../support/browser.ts";
import { firstFrameMs, remoteStats, until } from "../support/page-stats.ts";
import { cpuShare } from "../support/proc-cpu.ts";

const system = useSystem();
const browser = useChromium();

describe("three Chromium participants in one room", () => {
  it("each decodes video and audio from both others, and sees a leaver's tile go", async () => {
    const room = `e2e-${Date.now()}`;
    const names = ["Ada", "Grace", "Linus"];
    const pages = await joinRoom(browser, system.url, room, names);

    for (const [i, page] of pages.entries()) {
      const others = names.filter((_, j) => j !== i).sort();
      const first = await until(`${names[i]} decodes both others`, () => remoteStats(page), (s) => {
        const entries = Object.values(s);
        return entries.length === 2 && entries.every((e) => (e.video?.framesDecoded ?? 0) > 0 && (e.video?.frameWidth ?? 0) > 0 && (e.audio?.totalSamplesReceived ?? 0) > 0);
      }, { page });
      expect(Object.values(first).map((e) => e.name).sort()).toEqual(others);
      // Frames keep coming: decoding is live, not a single keyframe.
      await until(`${names[i]} keeps decoding`, () => remoteStats(page), (s) =>
        Object.entries(s).every(([id, e]) => (e.video?.framesDecoded ?? 0) > (first[id]!.video!.framesDecoded + 10) && (e.audio?.packetsReceived ?? 0) > first[id]!.audio!.packetsReceived), { page });
      const frameMs = await firstFrameMs(page);
      console.log(`[metric] ${names[i]}: page load → first remote frame ${frameMs?.toFixed(0)} ms`);
    }
    // A measurement for the record, not an assertion: the media node's CPU while forwarding 3 × (A+V) to 6 downstreams.
    const share = await cpuShare(system.nodes[0]!.pid!, 10_000);
    console.log(`[metric] media node CPU with three participants: ${(share * 100).toFixed(1)} % of one core`);
    const tiles = (page: Page) => page.locator(".tile").count();
    expect(await tiles(pages[0]!)).toBe(3);

    // In a room the lobby form is out of the way; after leaving it comes back.
    expect(await pages[0]!.locator("#lobby").isVisible()).toBe(false);
    await pages[2]!.getByRole("button", { name: "Leave" }).click();
    await expect.poll(() => pages[2]!.locator("#lobby").isVisible()).toBe(true);
    for (const page of pages.slice(0, 2)) {
      await until("leaver's tile disappears", () => tiles(page), (n) => n === 2, { timeoutMs: 10_000, page });
      await expect.poll(() => page.locator(".tile .name").allTextContents()).not.toContain("Linus");
    }
    // The two who stayed still decode each other.
    const stayed = await remoteStats(pages[0]!);
    expect(Object.values(stayed).map((e) => e.name)).toEqual(["Grace"]);
  });
});
