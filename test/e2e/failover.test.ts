import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { hostingNode, joinRoom } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { decodesAll, marks, remoteStats, until } from "../support/page-stats.ts";

const system = useSystem({ nodes: 2 });
const browser = useChromium();

const roster = (page: Page) =>
  page.evaluate(() => (window as unknown as { __sfu: { state(): { participants: Array<{ id: string; name: string }> } } }).__sfu.state().participants.map((p) => `${p.id}:${p.name}`).sort());

describe("a media node dies under a room", () => {
  it("the room moves to the other node and every browser decodes again, with the same roster", async () => {
    const room = `failover-${Date.now()}`;
    const pages = await joinRoom(browser, system.url, room, ["Ada", "Grace", "Linus"]);
    for (const page of pages) await until("decoding before the failure", () => remoteStats(page), decodesAll(2), { page });
    const rosters = await Promise.all(pages.map(roster));

    const victim = await hostingNode(system.healthPortBase, system.nodes.length);
    expect(victim).toBeGreaterThanOrEqual(0);
    const killedAt = Date.now();
    system.nodes[victim]!.kill("SIGKILL");

    for (const page of pages) {
      await until("media restarted after the failure", () => marks(page, "media restart"), (n) => n > 0, { page });
      await until("decoding again on the other node", () => remoteStats(page), decodesAll(2), { page });
    }
    const recoveredMs = Date.now() - killedAt;
    console.log(`[metric] kill -9 of the room's node → every browser decoding again: ${recoveredMs} ms`);

    const survivor = (await system.nodeHealth(1 - victim)).rooms;
    expect(survivor).toBe(1);
    expect(await Promise.all(pages.map(roster))).toEqual(rosters);
    expect(await pages[0]!.locator(".tile").count()).toBe(3);
  });
});
