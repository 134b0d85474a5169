import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useChromium, useSystem } from "../support/hooks.ts";
import { joinRoom, openPage, THREE_SIMULCAST_LAYERS } from "../support/browser.ts";
import { impairLink } from "../support/node-control.ts";
import { remoteStats, selfId, timeline, until } from "../support/page-stats.ts";

const system = useSystem({ debugImpairment: true });
const browser = useChromium([THREE_SIMULCAST_LAYERS]);

async function videoFrom(page: Page) {
  const stats = Object.values(await remoteStats(page));
  return stats[0]?.video;
}

describe("a lossy link between the node and a Chromium subscriber", () => {
  it("is repaired by NACK: video keeps decoding and almost nothing stays lost", async () => {
    const room = `lossy-${Date.now()}`;
    const [, bob] = await joinRoom(browser, system.url, room, ["Ada", "Bob"]);
    await until("Bob decodes Ada", () => videoFrom(bob!), (v) => (v?.framesDecoded ?? 0) > 10, { page: bob });
    const bobId = await selfId(bob!);
    const impaired = await impairLink(system, room, bobId!, { lossPercent: 5 });
    expect(impaired).toEqual({ status: 200, body: { impaired: true } });

    const before = (await videoFrom(bob!))!;
    await new Promise((r) => setTimeout(r, 8000));
    const after = (await videoFrom(bob!))!;
    const received = after.packetsReceived - before.packetsReceived;
    const lost = after.packetsLost - before.packetsLost;
    const nacks = after.nackCount - before.nackCount;
    console.log(`[metric] 5 % loss on the node → Chromium leg for 8 s: ${received} packets received, ${nacks} NACKs, ${lost} left lost, ${after.framesDecoded - before.framesDecoded} frames decoded`);
    expect(nacks).toBeGreaterThan(0); // the loss was real and Chromium noticed it
    expect(after.framesDecoded - before.framesDecoded).toBeGreaterThan(80); // ~30 fps for 8 s, minus stalls
    // Without repair about 5 % would stay lost; retransmitted packets count as received.
    expect(lost).toBeLessThan(Math.max(3, received * 0.01));
  });

  it("that narrows to 350 kbps makes the node step the subscriber down a simulcast layer, and it keeps decoding", async () => {
    const room = `narrow-${Date.now()}`;
    await openPage(browser, system.url, room, "Pub", { width: 1000, viewer: false });
    const viewer = await openPage(browser, system.url, room, "Viewer", { width: 1400, viewer: true });
    const full = await until("the viewer's large tile gets the full layer", () => videoFrom(viewer), (v) => (v?.frameWidth ?? 0) >= 640 && (v?.framesDecoded ?? 0) > 10, { page: viewer, timeoutMs: 45_000 });

    const viewerId = await selfId(viewer);
    expect((await impairLink(system, room, viewerId!, { kbps: 350 })).status).toBe(200);
    const started = Date.now();
    const down = await until("the viewer is moved to a lower layer", () => videoFrom(viewer), (v) => (v?.frameWidth ?? 0) > 0 && v!.frameWidth < full!.frameWidth, { page: viewer, timeoutMs: 30_000 });
    console.log(`[metric] link narrowed to 350 kbps: viewer moved from ${full!.frameWidth} to ${down!.frameWidth} px wide after ${Date.now() - started} ms`);
    // It keeps decoding at the lower layer (what a 350 kbps link can carry).
    const later = await until("the viewer keeps decoding", () => videoFrom(viewer), (v) => (v?.framesDecoded ?? 0) > down!.framesDecoded + 30, { page: viewer });
    expect(later!.frameWidth, `viewer timeline: ${JSON.stringify(await timeline(viewer))}`).toBeLessThan(full!.frameWidth);
  });

  it("refuses a bad impairment body with 400 and an unknown participant with 404", async () => {
    const room = `impair-bad-${Date.now()}`;
    const [page] = await joinRoom(browser, system.url, room, ["Ada"]);
    await expect.poll(() => selfId(page!), { timeout: 15_000 }).toBeTruthy();
    expect((await impairLink(system, room, (await selfId(page!))!, { lossPercent: 400 })).status).toBe(400);
    expect((await impairLink(system, room, "nobody-here", { lossPercent: 5 })).status).toBe(404);
  });
});
