import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { joinRoom } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { remoteStats, until } from "../support/page-stats.ts";

const system = useSystem();
const browser = useChromium();

const frames = async (page: Page, name: string) => Object.values(await remoteStats(page)).find((e) => e.name === name)?.video?.framesDecoded ?? 0;
const people = (page: Page) => page.locator("#people-list li").evaluateAll((items) => items.map((li) => `${li.querySelector(".who")?.textContent}: ${li.querySelector(".state")?.textContent}`));
const remoteTile = (page: Page, name: string) => page.locator(".tile:not(.local)", { has: page.locator(".name", { hasText: new RegExp(`^${name}$`) }) });
const staged = (page: Page) => page.locator("#stage .tile .name").allTextContents();

describe("the call's layout", () => {
  it("a quality icon per participant, stats on demand, a participant list with mute state, pin and speaker view", async () => {
    const room = `layout-${Date.now()}`;
    const [ada, grace] = (await joinRoom(browser, system.url, room, ["Ada", "Grace"])) as [Page, Page];
    await until("Grace sees Ada", () => frames(grace, "Ada"), (n) => n > 10, { page: grace });

    // The network quality of Ada's media as Grace receives it (a clean loopback: good).
    await expect.poll(() => remoteTile(grace, "Ada").locator(".quality").getAttribute("data-quality")).toBe("good");
    expect(await remoteTile(grace, "Ada").locator(".quality").getAttribute("aria-label")).toBe("Network: good");
    // The detailed figures only on demand.
    expect(await remoteTile(grace, "Ada").locator(".stats").isVisible()).toBe(false);
    await grace.getByRole("button", { name: "Stats" }).click();
    await expect.poll(() => remoteTile(grace, "Ada").locator(".stats").isVisible()).toBe(true);
    expect(await remoteTile(grace, "Ada").locator(".stats").textContent()).toMatch(/\d+×\d+ \d+fps/);

    // Everyone, with what they send; a mute shows there for the others.
    await grace.locator("#people-toggle").click();
    await expect.poll(() => people(grace)).toEqual(["Grace (you): mic on · camera on", "Ada: mic on · camera on"]);
    expect(await grace.locator("#people-count").textContent()).toBe("2");
    await ada.getByRole("button", { name: "Mute mic" }).click();
    await ada.getByRole("button", { name: "Stop camera" }).click();
    await expect.poll(() => people(grace)).toEqual(["Grace (you): mic on · camera on", "Ada: mic off · camera off"]);
    await ada.getByRole("button", { name: "Start camera" }).click();
    await expect.poll(() => people(grace)).toEqual(["Grace (you): mic on · camera on", "Ada: mic off · camera on"]);

    // Pinning puts the tile on the stage, larger than the grid's; unpinning puts it back.
    const gridWidth = (await remoteTile(grace, "Ada").boundingBox())!.width;
    await grace.getByRole("button", { name: "Pin Ada" }).click();
    await expect.poll(() => staged(grace)).toEqual(["Ada"]);
    expect(await grace.getByRole("button", { name: "Pin Ada" }).getAttribute("aria-pressed")).toBe("true");
    expect((await remoteTile(grace, "Ada").boundingBox())!.width).toBeGreaterThan(gridWidth);
    const pinnedFrames = await frames(grace, "Ada");
    await until("Grace keeps decoding pinned Ada", () => frames(grace, "Ada"), (n) => n > pinnedFrames + 10, { page: grace });
    await grace.getByRole("button", { name: "Pin Ada" }).click();
    await expect.poll(() => staged(grace)).toEqual([]);

    // Speaker view: the other person large, the grid beside; back to the grid.
    await grace.getByRole("button", { name: "Speaker view" }).click();
    await expect.poll(() => staged(grace)).toEqual(["Ada"]);
    await grace.getByRole("button", { name: "Grid view" }).click();
    await expect.poll(() => staged(grace)).toEqual([]);
    expect(await grace.locator("#grid .tile").count()).toBe(2);
  });
});
