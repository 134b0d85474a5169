import type { Page } from "playwright-core";

/** What the app's `window.__sfu.remoteStats()` reports per remote participant, from getStats(). */
export interface RemoteStats {
  name: string;
  video?: { framesDecoded: number; frameWidth: number; frameHeight: number; packetsReceived: number; packetsLost: number; nackCount: number; freezeCount: number; estimatedPlayoutTimestamp: number | null };
  /** A screen share from that participant. */
  screen?: { framesDecoded: number; frameWidth: number; frameHeight: number };
  audio?: { packetsReceived: number; totalSamplesReceived: number; estimatedPlayoutTimestamp: number | null };
}

interface SfuHook {
  remoteStats(): Promise<Record<string, RemoteStats>>;
  timeline(): Array<[string, number]>;
  firstFrameMs(): number | null;
  state(): { selfId?: string };
}

export const remoteStats = (page: Page) => page.evaluate(() => (window as unknown as { __sfu: SfuHook }).__sfu.remoteStats());
export const firstFrameMs = (page: Page) => page.evaluate(() => (window as unknown as { __sfu: SfuHook }).__sfu.firstFrameMs());
/** The app's signaling and media events so far, each `[what, ms]`. */
export const timeline = (page: Page) => page.evaluate(() => (window as unknown as { __sfu: SfuHook }).__sfu.timeline());
/** How many times the timeline has `what`. */
export const marks = async (page: Page, what: string) => (await timeline(page)).filter(([w]) => w === what).length;
/** The page's own participant id, once it joined. */
export const selfId = (page: Page) => page.evaluate(() => (window as unknown as { __sfu: SfuHook }).__sfu.state().selfId);

/** For `until`: the page decodes video and audio from exactly `others` participants. */
export const decodesAll = (others: number) => (s: Record<string, RemoteStats>) =>
  Object.keys(s).length === others && Object.values(s).every((e) => (e.video?.framesDecoded ?? 0) > 0 && (e.audio?.totalSamplesReceived ?? 0) > 0);

/**
 * Polls `probe` until `ok` holds; on timeout the error carries the last value and, when `page` is
 * given, that page's signaling/media timeline and notice.
 */
export async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, opts: { timeoutMs?: number; page?: Page } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  const context = opts.page
    ? await opts.page.evaluate(() => ({
        timeline: (window as unknown as { __sfu: SfuHook }).__sfu.timeline(),
        notice: document.querySelector("#notice")?.textContent,
      }))
    : undefined;
  throw new Error(`${what}: not reached within ${timeoutMs} ms; last value ${JSON.stringify(last)}; page ${JSON.stringify(context)}`);
}

/**
 * Records, per remote tile, the longest time between two frames shown from now on (a later call
 * starts over). Page code as text: a bundler's helpers (esbuild's __name) do not exist in the page.
 */
const WATCH_FRAME_GAPS = `(() => {
  const run = (window.__gapRun = (window.__gapRun ?? 0) + 1);
  window.__gaps = [];
  document.querySelectorAll(".tile:not(.local) video").forEach((video, i) => {
    window.__gaps[i] = 0;
    let last = performance.now();
    video.requestVideoFrameCallback(function onFrame(now) {
      if (window.__gapRun !== run) return;
      window.__gaps[i] = Math.max(window.__gaps[i], now - last);
      last = now;
      video.requestVideoFrameCallback(onFrame);
    });
  });
})()`;
export const watchFrameGaps = (page: Page) => page.evaluate(WATCH_FRAME_GAPS);

/** Per remote tile, the longest gap (ms) since watchFrameGaps. */
export const longestFrameGap = (page: Page) => page.evaluate(() => (window as unknown as { __gaps: number[] }).__gaps);
