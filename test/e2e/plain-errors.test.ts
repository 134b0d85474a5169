import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { openPage } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { remoteStats, until } from "../support/page-stats.ts";

// A room of at most two, to meet "room full" with a third.
const system = useSystem({ workerVars: { MAX_PARTICIPANTS_PER_ROOM: "2" } });
const browser = useChromium();

/** Pages of this context are refused the camera and microphone, as when the user blocked them. */
async function blockDevices(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
  });
}

const notice = (page: Page) => page.locator("#notice").textContent();

describe("errors in plain words", () => {
  it("camera blocked: said on the pre-join screen and in the call, which goes on receive-only; room full: said, and back to the lobby", async () => {
    const room = `errors-${Date.now()}`;
    const ada = await openPage(browser, system.url, room, "Ada");

    // Grace blocked camera and microphone for the site: the pre-join screen says what to do.
    const graceContext = await browser.newContext();
    await blockDevices(graceContext);
    const grace = await graceContext.newPage();
    await grace.goto(`${system.url}/${room}`);
    await expect.poll(() => grace.locator("#prejoin-status").textContent()).toBe(
      "Camera and microphone are blocked for this site. Allow them in the browser's site settings; meanwhile you can join without them.",
    );
    await grace.locator("#lobby input[name=name]").fill("Grace");
    await grace.locator("#lobby button[type=submit]").click();
    await expect.poll(() => notice(grace)).toContain("Camera and microphone are blocked for this site.");
    await until("Grace, receive-only, sees Ada", () => remoteStats(grace), (s) => Object.values(s).some((e) => e.name === "Ada" && (e.video?.framesDecoded ?? 0) > 0), { page: grace });

    // A third person: the room holds two.
    const linus = await (await browser.newContext()).newPage();
    await linus.goto(`${system.url}/${room}?name=Linus`);
    await expect.poll(() => notice(linus)).toBe("The room is full; try again later.");
    expect(await linus.locator("#lobby").isVisible()).toBe(true);
    expect(await linus.locator("#conn").getAttribute("data-state")).toBe("closed");
    // No error code shows anywhere.
    for (const page of [ada, grace, linus]) expect((await notice(page)) ?? "").not.toMatch(/[a-z]+-[a-z]+:/);
  });
});
