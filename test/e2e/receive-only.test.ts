import { DEFAULT_GRANTS, signRoomToken } from "@sfu/shared";
import { describe, expect, it } from "vitest";
import { useChromium, useSystem } from "../support/hooks.ts";
import { openPage } from "../support/browser.ts";
import { remoteStats, until, type RemoteStats } from "../support/page-stats.ts";

const system = useSystem();
const browser = useChromium();

const decodes = (name: string) => (s: Record<string, RemoteStats>) =>
  Object.values(s).some((e) => e.name === name && (e.video?.framesDecoded ?? 0) > 5 && (e.video?.frameWidth ?? 0) > 0 && (e.audio?.totalSamplesReceived ?? 0) > 0);

describe("a receive-only viewer and a publisher who comes and goes", () => {
  it("the viewer decodes the publisher, sees mute state, and picks the publisher up again after a rejoin", async () => {
    const room = `viewer-${Date.now()}`;
    const viewer = await openPage(browser, system.url, room, "Viewer", { viewer: true });
    await expect.poll(() => viewer.locator("#notice").textContent()).toContain("receive-only");

    const publisherContext = await browser.newContext();
    let publisher = await publisherContext.newPage();
    await publisher.goto(`${system.url}/${room}?name=Pat`);
    await until("viewer decodes Pat", () => remoteStats(viewer), decodes("Pat"), { page: viewer });
    // The publisher sees the viewer's tile, without video.
    await expect.poll(() => publisher.locator(".tile.no-video .name").allTextContents()).toEqual(["Viewer"]);

    await publisher.getByRole("button", { name: "Stop camera" }).click();
    await expect.poll(() => viewer.locator(".tile .flags").allTextContents()).toContain("camera off");
    await publisher.getByRole("button", { name: "Start camera" }).click();
    await expect.poll(() => viewer.locator(".tile .flags").allTextContents()).not.toContain("camera off");

    // Pat closes the tab and comes back: the viewer loses the tile, then decodes the new Pat.
    await publisher.close();
    await expect.poll(() => viewer.locator(".tile").count(), { timeout: 10_000 }).toBe(1);
    publisher = await publisherContext.newPage();
    await publisher.goto(`${system.url}/${room}?name=Pat`);
    await until("viewer decodes Pat again", () => remoteStats(viewer), decodes("Pat"), { page: viewer });
    expect(await viewer.locator(".tile").count()).toBe(2);
  });
});

describe("a link with a bad token", () => {
  it("is refused, and the app says so instead of retrying forever", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${system.url}/badlink?name=Eve&token=not-a-real-token`);
    await expect.poll(() => page.locator("#notice").textContent(), { timeout: 15_000 }).toContain("link may be invalid or expired");
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("closed");
  });
});

describe("an expired invitation link", () => {
  it("says in plain words that it expired and when, and leaves the person in the lobby", async () => {
    const room = `expired-${Date.now()}`;
    const twoHoursAgo = Date.now() - 2 * 3600_000;
    const token = await signRoomToken(system.tokenSecret, { sub: "eve", name: "Eve", room, grants: DEFAULT_GRANTS }, 600, twoHoursAgo);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${system.url}/${room}?name=Eve&token=${token}`);
    await expect.poll(() => page.locator("#notice").textContent()).toMatch(/^This invitation link expired at .+\. Ask whoever sent it for a new one\.$/);
    expect(await page.locator("#lobby").isVisible()).toBe(true);
    // The address bar never kept the token, and the tab forgot it.
    expect(new URL(page.url()).search).toBe("");
    expect(await page.evaluate((r) => sessionStorage.getItem(`sfu.token.${r}`), room)).toBeNull();
  });
});
