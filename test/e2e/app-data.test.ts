import { MAX_DATA_PAYLOAD_BYTES } from "@sfu/shared";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { joinRoom, openPage } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { selfId, until } from "../support/page-stats.ts";

const system = useSystem();
const browser = useChromium();

interface Received {
  from: string;
  text: string;
  reliable: boolean;
}
interface DataHook {
  __sfu: {
    sendData(text: string, options?: { reliable?: boolean; to?: string[] }): boolean;
    dataOpen(): boolean;
    receivedData(): Received[];
    refusedData(): Array<{ code: string; message: string }>;
  };
}

const send = (page: Page, text: string, options: { reliable?: boolean; to?: string[] } = {}) =>
  page.evaluate(([t, o]) => (window as unknown as DataHook).__sfu.sendData(t, o), [text, options] as const);
const received = (page: Page) => page.evaluate(() => (window as unknown as DataHook).__sfu.receivedData());
const refused = (page: Page) => page.evaluate(() => (window as unknown as DataHook).__sfu.refusedData());
const dataOpen = (page: Page) => page.evaluate(() => (window as unknown as DataHook).__sfu.dataOpen());
const texts = async (page: Page) => (await received(page)).map((m) => m.text);

describe("app data through the SFU", () => {
  it("reaches everyone or only the named participants, reliable or lossy, with a size limit and typed refusals", async () => {
    const room = `data-${Date.now()}`;
    const [ada, grace] = (await joinRoom(browser, system.url, room, ["Ada", "Grace"])) as [Page, Page];
    // Bob has no camera or microphone: his publisher carries only the data channels.
    const bob = await openPage(browser, system.url, room, "Bob", { viewer: true });
    const [adaId, graceId, bobId] = (await Promise.all([ada, grace, bob].map((p) => until("joined", () => selfId(p), (id) => !!id, { page: p })))) as [string, string, string];

    for (const page of [ada, grace, bob]) await until("data channels open", () => dataOpen(page), (open) => open, { page });

    // To everyone else, reliable.
    expect(await send(ada, "hello all")).toBe(true);
    await expect.poll(() => received(grace)).toEqual([{ from: adaId, text: "hello all", reliable: true }]);
    await expect.poll(() => received(bob)).toEqual([{ from: adaId, text: "hello all", reliable: true }]);

    // To Bob only.
    expect(await send(ada, "just for bob", { to: [bobId] })).toBe(true);
    await expect.poll(() => texts(bob)).toEqual(["hello all", "just for bob"]);
    // Grace's channel is ordered: a later message to her arrives after anything sent to her before.
    expect(await send(ada, "for grace", { to: [graceId] })).toBe(true);
    await expect.poll(() => texts(grace)).toEqual(["hello all", "for grace"]);

    // Lossy, from the participant without camera or mic, to everyone else.
    expect(await send(bob, "lossy from bob", { reliable: false })).toBe(true);
    await expect.poll(() => received(ada)).toEqual([{ from: bobId, text: "lossy from bob", reliable: false }]);
    await expect.poll(async () => (await received(grace)).at(-1)).toEqual({ from: bobId, text: "lossy from bob", reliable: false });

    // Refused by the node with a typed error back to the sender; nothing delivered.
    expect(await send(ada, "to a stranger", { to: ["nobody"] })).toBe(true);
    await expect.poll(() => refused(ada)).toEqual([{ code: "unknown-recipient", message: "not in the room: nobody" }]);
    // Over the size limit: the app refuses before sending.
    const tooLarge = await ada.evaluate((n) => {
      try {
        (window as unknown as DataHook).__sfu.sendData("x".repeat(n));
        return "sent";
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
      }
    }, MAX_DATA_PAYLOAD_BYTES + 1);
    expect(tooLarge).toBe(`RangeError: a data message is at most ${MAX_DATA_PAYLOAD_BYTES} bytes (this one is ${MAX_DATA_PAYLOAD_BYTES + 1})`);
    // A message of exactly the limit goes through.
    expect(await send(ada, "y".repeat(MAX_DATA_PAYLOAD_BYTES), { to: [graceId] })).toBe(true);
    await expect.poll(async () => (await texts(grace)).at(-1)?.length).toBe(MAX_DATA_PAYLOAD_BYTES);
    expect(await texts(bob)).toEqual(["hello all", "just for bob"]);
  });
});
