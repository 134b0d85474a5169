import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { adminFetch } from "../support/admin.ts";
import { joinRoom } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { marks, remoteStats, selfId, until } from "../support/page-stats.ts";

const system = useSystem();
const browser = useChromium();

const adminCall = (path: string, body?: unknown) => adminFetch(system, body === undefined && !path.endsWith("kick") ? "GET" : "POST", path, body);

const audioPackets = async (page: Page, name: string) => Object.values(await remoteStats(page)).find((e) => e.name === name)?.audio?.packetsReceived ?? 0;

describe("admin actions reach the browsers", () => {
  it("a mute turns the mic off in the app and no more audio reaches the others; a kick removes the participant", async () => {
    const room = `admin-${Date.now()}`;
    const pages = await joinRoom(browser, system.url, room, ["Ada", "Grace"]);
    const [ada, grace] = pages as [Page, Page];
    await until("Ada hears Grace", () => audioPackets(ada, "Grace"), (n) => n > 50, { page: ada });

    const summary = (await (await adminCall(`/rooms/${room}`)).json()) as { participants: Array<{ id: string; name: string }> };
    const graceId = summary.participants.find((p) => p.name === "Grace")!.id;

    expect((await adminCall(`/rooms/${room}/participants/${graceId}/mute`, { kind: "audio" })).status).toBe(200);
    await expect.poll(() => grace.getByRole("button", { name: "Unmute mic" }).count()).toBe(1);
    await expect.poll(() => ada.locator(".tile .flags").allTextContents()).toContain("mic off");
    // No more of Grace's audio reaches Ada (a few packets may still be in flight).
    await new Promise((r) => setTimeout(r, 500));
    const after = await audioPackets(ada, "Grace");
    await new Promise((r) => setTimeout(r, 2000));
    expect(await audioPackets(ada, "Grace")).toBeLessThanOrEqual(after + 2);
    // Grace cannot undo an admin's mute: the room refuses and her app turns the mic back off.
    await grace.getByRole("button", { name: "Unmute mic" }).click();
    await expect.poll(() => grace.locator("#notice").textContent()).toContain("only an admin can unmute");
    expect(await grace.getByRole("button", { name: "Unmute mic" }).count()).toBe(1);
    expect(await ada.locator(".tile .flags").allTextContents()).toContain("mic off");

    expect((await adminCall(`/rooms/${room}/participants/${graceId}/kick`)).status).toBe(200);
    await expect.poll(() => grace.locator("#notice").textContent()).toContain("removed from the room");
    await expect.poll(() => ada.locator(".tile").count()).toBe(1);
  });
});

describe("a dropped signaling socket", () => {
  it("reconnects and resumes as the same participant, without a duplicate, while media keeps flowing", async () => {
    const room = `resume-${Date.now()}`;
    const pages = await joinRoom(browser, system.url, room, ["Ada", "Grace"]);
    const [ada, grace] = pages as [Page, Page];
    const frames = async (page: Page, name: string) => Object.values(await remoteStats(page)).find((e) => e.name === name)?.video?.framesDecoded ?? 0;
    await until("Ada sees Grace", () => frames(ada, "Grace"), (n) => n > 10, { page: ada });
    const before = await selfId(grace);

    await grace.evaluate(() => (window as unknown as { __sfu: { dropSignaling(): void } }).__sfu.dropSignaling());
    await until("Grace resumed", () => marks(grace, "resumed"), (n) => n > 0, { page: grace });

    expect(await selfId(grace)).toBe(before);
    const summary = (await (await adminCall(`/rooms/${room}`)).json()) as { participants: Array<{ name: string; connected: boolean }> };
    expect(summary.participants.map((p) => `${p.name}:${p.connected}`).sort()).toEqual(["Ada:true", "Grace:true"]);
    expect(await ada.locator(".tile").count()).toBe(2);
    const framesNow = await frames(ada, "Grace");
    await until("Ada keeps decoding Grace", () => frames(ada, "Grace"), (n) => n > framesNow + 10, { page: ada });
    await expect.poll(() => grace.locator("#conn").getAttribute("data-state")).toBe("connected");
  });
});

describe("the active speaker", () => {
  it("is highlighted in every browser and follows who is making sound", async () => {
    const room = `speaker-${Date.now()}`;
    const [ada, grace] = (await joinRoom(browser, system.url, room, ["Ada", "Grace"])) as [Page, Page];
    await until("Ada hears Grace", () => audioPackets(ada, "Grace"), (n) => n > 50, { page: ada });
    const speaking = (page: Page) => page.locator(".tile.speaking .name").allTextContents();
    // On a miss, the page's timeline shows which speaker messages it got, and the probe shows
    // whether the muted one's audio really stopped arriving.
    const highlighted = (page: Page, names: string[], mutedName: "Ada" | "Grace") =>
      until(
        `${names.join()} highlighted`,
        async () => ({ speaking: await speaking(page), mutedAudioPackets: await audioPackets(mutedName === "Ada" ? grace : ada, mutedName) }),
        (v) => JSON.stringify(v.speaking) === JSON.stringify(names),
        { page, timeoutMs: 10_000 },
      );

    await ada.getByRole("button", { name: "Mute mic" }).click();
    await highlighted(ada, ["Grace"], "Ada");
    await highlighted(grace, ["Grace (you)"], "Ada");

    await ada.getByRole("button", { name: "Unmute mic" }).click();
    await grace.getByRole("button", { name: "Mute mic" }).click();
    await highlighted(ada, ["Ada (you)"], "Grace");
    await highlighted(grace, ["Ada"], "Grace");
  });
});
