import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useChromium, useSystem } from "../support/hooks.ts";
import { openPage, THREE_SIMULCAST_LAYERS } from "../support/browser.ts";
import { remoteStats, until, type RemoteStats } from "../support/page-stats.ts";

const system = useSystem();
const browser = useChromium([THREE_SIMULCAST_LAYERS]);

interface EncodingStats {
  rid: string;
  bytesSent: number;
  framesEncoded: number;
  frameWidth: number;
  active?: boolean;
}
interface Hook {
  publisherStats(): Promise<EncodingStats[]>;
  publishedLayers(): string[] | null;
}
const publisherStats = (page: Page) => page.evaluate(() => (window as unknown as { __sfu: Hook }).__sfu.publisherStats());
const publishedLayers = (page: Page) => page.evaluate(() => (window as unknown as { __sfu: Hook }).__sfu.publishedLayers());

const open = (room: string, name: string, width: number, viewer: boolean) => openPage(browser, system.url, room, name, { width, viewer });

const video = (s: Record<string, RemoteStats>) => Object.values(s).find((e) => e.name === "Pub")?.video;

describe("simulcast: each subscriber gets the layer that fits its tile", () => {
  it("a small tile receives a lower resolution than a large one, both keep decoding, and an unneeded layer is paused", async () => {
    const room = `simulcast-${Date.now()}`;
    const pub = await open(room, "Pub", 1000, false);
    // 184 px viewport: the grid (12 px padding each side) is 160 px wide, one column, so the tile is 160×120.
    const small = await open(room, "Small", 184, true);
    // 1400 px: three columns of about 450 px; only the 640×480 layer covers that.
    const large = await open(room, "Large", 1400, true);

    // The publisher sends three layers.
    const layers = await until("publisher sends q, h and f", () => publisherStats(pub), (s) => s.length === 3 && s.every((e) => e.bytesSent > 0), { page: pub });
    expect(layers.map((e) => e.rid)).toEqual(["f", "h", "q"]);

    const smallFirst = await until("small viewer decodes a small layer", () => remoteStats(small), (s) => (video(s)?.framesDecoded ?? 0) > 0 && (video(s)?.frameWidth ?? 0) > 0 && video(s)!.frameWidth <= 160, { page: small, timeoutMs: 45_000 });
    const largeFirst = await until("large viewer decodes a larger layer", () => remoteStats(large), (s) => (video(s)?.framesDecoded ?? 0) > 0 && (video(s)?.frameWidth ?? 0) > 320, { page: large, timeoutMs: 45_000 });
    console.log(`[metric] frame width: small viewer ${video(smallFirst)!.frameWidth}, large viewer ${video(largeFirst)!.frameWidth}`);
    expect(video(smallFirst)!.frameWidth).toBeLessThan(video(largeFirst)!.frameWidth);

    // Both keep decoding, each at its own size.
    const smallLater = await until("small viewer keeps decoding", () => remoteStats(small), (s) => (video(s)?.framesDecoded ?? 0) > video(smallFirst)!.framesDecoded + 20, { page: small });
    const largeLater = await until("large viewer keeps decoding", () => remoteStats(large), (s) => (video(s)?.framesDecoded ?? 0) > video(largeFirst)!.framesDecoded + 20, { page: large });
    expect(video(smallLater)!.frameWidth).toBeLessThanOrEqual(160);
    expect(video(largeLater)!.frameWidth).toBeGreaterThan(320);

    // The large viewer shrinks to a small tile: it moves down to the small layer, and nobody needs
    // the full layer any more, so the publisher pauses it (dynacast).
    await large.setViewportSize({ width: 184, height: 900 });
    await until("large viewer moves down to the small layer", () => remoteStats(large), (s) => (video(s)?.frameWidth ?? 0) > 0 && video(s)!.frameWidth <= 160, { page: large });
    await until("the publisher is told to pause f", () => publishedLayers(pub), (rids) => rids !== null && !rids.includes("f"), { page: pub });
    const paused = await until("f stops growing", async () => {
      const before = (await publisherStats(pub)).find((e) => e.rid === "f")!;
      await new Promise((r) => setTimeout(r, 1500));
      const after = (await publisherStats(pub)).find((e) => e.rid === "f")!;
      return { before, after };
    }, ({ before, after }) => after.bytesSent === before.bytesSent, { page: pub });
    expect(paused.after.framesEncoded).toBe(paused.before.framesEncoded);
    // The small layer still flows and is decoded by both.
    const both = await Promise.all([small, large].map((p) => remoteStats(p)));
    for (const [i, p] of [small, large].entries()) {
      await until("viewer still decodes", () => remoteStats(p), (s) => (video(s)?.framesDecoded ?? 0) > video(both[i]!)!.framesDecoded + 10, { page: p });
    }

    // It grows again: f is needed again, resumes, and the viewer gets the full size back.
    await large.setViewportSize({ width: 1400, height: 900 });
    await until("the publisher is told to send f again", () => publishedLayers(pub), (rids) => rids !== null && rids.includes("f"), { page: pub });
    const back = await until("large viewer is back above 320 px", () => remoteStats(large), (s) => (video(s)?.frameWidth ?? 0) > 320, { page: large, timeoutMs: 45_000 });
    await until("and keeps decoding", () => remoteStats(large), (s) => (video(s)?.framesDecoded ?? 0) > video(back)!.framesDecoded + 10, { page: large });
  });
});
