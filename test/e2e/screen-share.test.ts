import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { joinRoom } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { remoteStats, until } from "../support/page-stats.ts";

const system = useSystem();
const browser = useChromium();

const from = async (page: Page, name: string) => Object.values(await remoteStats(page)).find((e) => e.name === name);
const cameraFrames = async (page: Page, name: string) => (await from(page, name))?.video?.framesDecoded ?? 0;
const screenFrames = async (page: Page, name: string) => (await from(page, name))?.screen?.framesDecoded ?? 0;
const stage = async (page: Page) => (await page.locator("#stage .tile.screen .name").allTextContents()).sort();
const shareButton = (page: Page) => page.locator("#share");

/** `probe` grows by more than `by` from now on (media keeps flowing). */
async function keepsGrowing(what: string, page: Page, probe: () => Promise<number>, by = 10): Promise<void> {
  const start = await probe();
  await until(what, probe, (n) => n > start + by, { page });
}

describe("screen sharing", () => {
  it("reaches everyone on a large tile beside the cameras; two share at once; the browser's stop bar ends a share for everyone", async () => {
    const room = `screen-${Date.now()}`;
    const [ada, grace] = (await joinRoom(browser, system.url, room, ["Ada", "Grace"])) as [Page, Page];
    await until("Grace sees Ada's camera", () => cameraFrames(grace, "Ada"), (n) => n > 10, { page: grace });

    await shareButton(ada).click();
    await until("Grace decodes Ada's screen", () => screenFrames(grace, "Ada"), (n) => n > 10, { page: grace });
    await expect.poll(() => stage(grace)).toEqual(["Ada's screen"]);
    await expect.poll(() => stage(ada)).toEqual(["Your screen"]);
    expect(await shareButton(ada).textContent()).toBe("Stop sharing");
    // The screen is its own track: Ada's camera keeps coming, on her tile in the grid.
    await keepsGrowing("Grace still decodes Ada's camera", grace, () => cameraFrames(grace, "Ada"));
    expect(await grace.locator("#grid .tile:not(.local) .name").allTextContents()).toEqual(["Ada"]);
    const shown = await grace.locator("#stage .tile.screen").boundingBox();
    const camera = await grace.locator("#grid .tile:not(.local)").boundingBox();
    expect(shown!.width).toBeGreaterThan(camera!.width);

    await shareButton(grace).click();
    await until("Ada decodes Grace's screen", () => screenFrames(ada, "Grace"), (n) => n > 10, { page: ada });
    await expect.poll(() => stage(ada)).toEqual(["Grace's screen", "Your screen"]);
    await expect.poll(() => stage(grace)).toEqual(["Ada's screen", "Your screen"]);
    await keepsGrowing("Grace still decodes Ada's screen", grace, () => screenFrames(grace, "Ada"));

    // Ada ends her share from the browser's own bar: gone for both, Grace's share and both cameras go on.
    await ada.evaluate(() => (window as unknown as { __sfu: { endShareFromBrowser(): void } }).__sfu.endShareFromBrowser());
    await expect.poll(() => stage(grace)).toEqual(["Your screen"]);
    await expect.poll(() => stage(ada)).toEqual(["Grace's screen"]);
    expect(await shareButton(ada).textContent()).toBe("Share screen");
    await keepsGrowing("Ada still decodes Grace's screen", ada, () => screenFrames(ada, "Grace"));
    await keepsGrowing("Grace still decodes Ada's camera", grace, () => cameraFrames(grace, "Ada"));

    // A second share from Ada (the same m-section, sending again) reaches Grace again.
    const before = await screenFrames(grace, "Ada");
    await shareButton(ada).click();
    await until("Grace decodes Ada's second share", () => screenFrames(grace, "Ada"), (n) => n > before + 10, { page: grace });
    await expect.poll(() => stage(grace)).toEqual(["Ada's screen", "Your screen"]);
  });
});
