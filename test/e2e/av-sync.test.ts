import { describe, expect, it } from "vitest";
import { openPage } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { remoteStats, until, type RemoteStats } from "../support/page-stats.ts";

const system = useSystem();
const browser = useChromium();

/** Lip sync holds when what plays of one participant's audio and video was sent at most this far apart. */
const IN_SYNC_MS = 150;
/**
 * Chromium's synchronizer moves a stream's delay in bounded steps once a second: from the first
 * playout timestamps it needs a few seconds to line the two up (at most 3 s seen here). A mapping
 * off by a second takes it about 14 s; a garbage one (two clocks mixed: 11.6 hours apart), never.
 */
const SYNC_WITHIN_MS = 10_000;
const SAMPLES = 10;
const SAMPLE_EVERY_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Audio minus video estimatedPlayoutTimestamp (ms) of the participant named `name`, both from one
 * getStats(): the sender's NTP time of what each plays now, from the RTP timestamps and the sender
 * reports' NTP/RTP mapping. Null until video decodes and both have one (after sender reports came).
 */
const playoutGap = (name: string) => (s: Record<string, RemoteStats>) => {
  const p = Object.values(s).find((e) => e.name === name);
  const audio = p?.audio?.estimatedPlayoutTimestamp;
  const video = p?.video?.estimatedPlayoutTimestamp;
  return (p?.video?.framesDecoded ?? 0) > 0 && audio != null && video != null ? audio - video : null;
};

describe("lip sync", () => {
  it(`a viewer plays a participant's audio and video from the same instant of the sender's clock (estimatedPlayoutTimestamp within ${IN_SYNC_MS} ms)`, async () => {
    const room = `lipsync-${Date.now()}`;
    await openPage(browser, system.url, room, "Pat");
    const viewer = await openPage(browser, system.url, room, "Viewer", { viewer: true });
    const gap = playoutGap("Pat");
    const stats = () => remoteStats(viewer);
    await until("the viewer has playout timestamps for Pat's audio and video", stats, (s) => gap(s) !== null, { page: viewer });
    await until(`Pat's audio and video play within ${IN_SYNC_MS} ms of each other`, stats, (s) => Math.abs(gap(s)!) <= IN_SYNC_MS, { page: viewer, timeoutMs: SYNC_WITHIN_MS });

    const gaps: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await sleep(SAMPLE_EVERY_MS);
      gaps.push(gap(await stats())!);
    }
    const sorted = [...gaps].sort((a, b) => a - b);
    console.log(`audio − video playout timestamp (ms): min ${sorted[0]}, median ${sorted[SAMPLES >> 1]}, max ${sorted.at(-1)}; samples ${JSON.stringify(gaps)}`);
    for (const g of gaps) expect(Math.abs(g)).toBeLessThanOrEqual(IN_SYNC_MS);
  });
});
