import { DEFAULT_GRANTS, signRoomToken } from "@sfu/shared";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { SfuHook } from "../../worker/app/main.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { remoteStats, selfId, until, type RemoteStats } from "../support/page-stats.ts";

const system = useSystem();
const browser = useChromium();

const decodesFrom = (id: string) => (s: Record<string, RemoteStats>) => (s[id]?.video?.framesDecoded ?? 0) > 5 && (s[id]?.audio?.totalSamplesReceived ?? 0) > 0;
const names = (page: Page) => page.evaluate(() => (window as unknown as { __sfu: SfuHook }).__sfu.state().participants.map((p) => p.name).sort());
const field = (page: Page, name: string) => page.locator(`#lobby input[name="${name}"]`);

describe("the invite link", () => {
  it("carries only the room: the opening link's name and token leave the address bar, whoever opens the invite joins as themselves, and a reload keeps the tab's token", async () => {
    const room = `invite-${Date.now()}`;
    const roomUrl = `${system.url}/${room}`;
    // An application server's link for Alice: her identity and display name are in the token.
    const token = await signRoomToken(system.tokenSecret, { sub: "alice-identity", name: "Alice (token)", room, grants: DEFAULT_GRANTS }, 600, Date.now());
    const aliceContext = await browser.newContext();
    await aliceContext.grantPermissions(["clipboard-read", "clipboard-write"], { origin: system.url });
    const alice = await aliceContext.newPage();
    await alice.goto(`${roomUrl}?name=Alice&token=${encodeURIComponent(token)}`);
    await expect.poll(() => alice.url()).toBe(roomUrl);

    // The invite link: the room and nothing else, on the clipboard and shown.
    await alice.getByRole("button", { name: "Copy invite link" }).click();
    await expect.poll(() => alice.locator("#invite-status").textContent()).toContain("copied");
    const invite = await alice.evaluate(() => navigator.clipboard.readText());
    expect(invite).toBe(roomUrl);
    expect(await alice.locator("#invite-link").inputValue()).toBe(invite);

    // Bob opens it: the lobby of that room, with no name filled in; he joins as himself, beside Alice.
    const bob = await (await browser.newContext()).newPage();
    await bob.goto(invite);
    await expect.poll(() => bob.locator("#lobby").isVisible()).toBe(true);
    expect(await field(bob, "room").inputValue()).toBe(room);
    expect(await field(bob, "name").inputValue()).toBe("");
    await field(bob, "name").fill("Bob");
    await bob.getByRole("button", { name: "Join" }).click();
    const aliceId = await selfId(alice);
    await until("Bob decodes Alice", () => remoteStats(bob), decodesFrom(aliceId!), { page: bob });
    const bobId = await selfId(bob);
    await until("Alice decodes Bob", () => remoteStats(alice), decodesFrom(bobId!), { page: alice });
    expect(await names(alice)).toEqual(["Alice (token)", "Bob"]);
    expect(bob.url()).toBe(roomUrl);

    // Alice reloads: the address has no token, the tab still has it. Her lobby offers the name she
    // used; she rejoins under the token's name, which /dev/token would not give her.
    await alice.reload();
    expect(alice.url()).toBe(roomUrl);
    await expect.poll(() => alice.locator("#lobby").isVisible()).toBe(true);
    expect(await field(alice, "name").inputValue()).toBe("Alice");
    await alice.getByRole("button", { name: "Join" }).click();
    await expect.poll(() => selfId(alice)).toBeTruthy();
    const rejoinedId = await selfId(alice);
    expect(rejoinedId).not.toBe(aliceId);
    await until("Bob decodes the rejoined Alice", () => remoteStats(bob), decodesFrom(rejoinedId!), { page: bob });
    await expect.poll(() => names(bob)).toEqual(["Alice (token)", "Bob"]);
    expect(alice.url()).toBe(roomUrl);
  });
});
