import { CHAT_BURST } from "@sfu/shared";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { joinRoom } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";

const system = useSystem();
const browser = useChromium();

const chatButton = (page: Page) => page.locator("#chat-toggle");
const unread = async (page: Page) => ((await page.locator("#chat-unread").isVisible()) ? await page.locator("#chat-unread").textContent() : "none");
const shown = (page: Page) => page.locator("#chat-messages li").evaluateAll((items) => items.map((li) => `${li.querySelector(".who")?.textContent}: ${li.querySelector(".text")?.textContent}`));

/** Types `text` in the chat box and presses Enter, as a person would. */
async function post(page: Page, text: string): Promise<void> {
  await page.locator("#chat-input").fill(text);
  await page.locator("#chat-input").press("Enter");
}

describe("chat in the app", () => {
  it("goes to everyone as text, counts unread while the panel is closed, and a late joiner sees the history", async () => {
    const room = `chat-${Date.now()}`;
    const [alice, bob] = await joinRoom(browser, system.url, room, ["Alice", "Bob"]);
    await chatButton(alice!).click();
    await post(alice!, "hello <b>everyone</b>");
    await expect.poll(() => shown(alice!)).toEqual(["Alice (you): hello <b>everyone</b>"]);
    expect(await alice!.locator("#chat-input").inputValue()).toBe("");

    // Bob's panel is closed: the button counts it; opening the panel shows it and clears the count.
    await expect.poll(() => unread(bob!)).toBe("1");
    await post(alice!, "second");
    await expect.poll(() => unread(bob!)).toBe("2");
    await chatButton(bob!).click();
    expect(await unread(bob!)).toBe("none");
    await expect.poll(() => shown(bob!)).toEqual(["Alice: hello <b>everyone</b>", "Alice: second"]);
    expect(await bob!.locator("#chat-messages b").count()).toBe(0); // shown as text, never as markup
    await post(bob!, "hi Alice");
    await expect.poll(() => shown(alice!)).toContain("Bob: hi Alice");
    expect(await unread(alice!)).toBe("none"); // her panel is open

    // Carol comes later: the history is there, oldest first, and it is not news.
    const [carol] = await joinRoom(browser, system.url, room, ["Carol"]);
    await expect.poll(() => carol!.locator(".tile").count()).toBe(3);
    await chatButton(carol!).click();
    await expect.poll(() => shown(carol!)).toEqual(["Alice: hello <b>everyone</b>", "Alice: second", "Bob: hi Alice"]);
  });

  it("a burst past the room's allowance is refused in plain words, and the refused text goes back in the box", async () => {
    const [alice] = await joinRoom(browser, system.url, `chat-burst-${Date.now()}`, ["Alice"]);
    await chatButton(alice!).click();
    // Posted within one task of the page, so the room's 1-a-second refill cannot let them all through.
    const sent = CHAT_BURST + 3;
    await alice!.evaluate((n) => {
      const input = document.querySelector<HTMLInputElement>("#chat-input")!;
      const form = document.querySelector<HTMLFormElement>("#chat-form")!;
      for (let i = 1; i <= n; i++) {
        input.value = `rapid ${i}`;
        form.requestSubmit();
      }
    }, sent);
    await expect.poll(() => alice!.locator("#chat-status").textContent()).toContain("wait a moment");
    expect(await alice!.locator("#chat-input").inputValue()).toBe(`rapid ${sent}`);
    const posted = await shown(alice!);
    expect(posted.slice(0, CHAT_BURST)).toEqual(Array.from({ length: CHAT_BURST }, (_, i) => `Alice (you): rapid ${i + 1}`));
    expect(posted.length).toBeLessThan(sent);
  });
});
