import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { nodeHealth } from "./node-health.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Debian's Chromium, headless, with a fake camera and mic and loopback-only ICE; Playwright gives each launch a fresh, empty profile (see notes/werift-probe.md). */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      "--autoplay-policy=no-user-gesture-required",
      ...extraArgs,
    ],
  });
}

/** One page per name, each in its own browser context (its own camera, mic and storage), joined to `room`. */
export async function joinRoom(browser: Browser, baseUrl: string, room: string, names: readonly string[]): Promise<Page[]> {
  const pages: Page[] = [];
  for (const name of names) pages.push(await enterRoom(await browser.newContext(), baseUrl, room, name));
  return pages;
}

/** Index of the media node (health ports healthBase, healthBase + 1, …: startSystem's healthPortBase) that hosts a room. */
export async function hostingNode(healthBase: number, nodes: number): Promise<number> {
  const rooms = await Promise.all(Array.from({ length: nodes }, async (_, i) => (await nodeHealth(healthBase + i)).rooms));
  return rooms.findIndex((n) => n > 0);
}

/**
 * One page joined to `room` as `name`, in its own browser context: `width` CSS px wide (else
 * Playwright's default viewport), `query` appended to the room link. A `viewer` has no camera or
 * microphone (receive-only), so only publishers encode.
 */
export async function openPage(browser: Browser, baseUrl: string, room: string, name: string, opts: { width?: number; viewer?: boolean; query?: string } = {}): Promise<Page> {
  const context = await browser.newContext(opts.width === undefined ? {} : { viewport: { width: opts.width, height: 900 }, deviceScaleFactor: 1 });
  if (opts.viewer) await withoutDevices(context);
  return enterRoom(context, baseUrl, room, name, opts.query);
}

/** Pages of this context find no camera or microphone at all. */
export async function withoutDevices(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Requested device not found", "NotFoundError"));
  });
}

async function enterRoom(context: BrowserContext, baseUrl: string, room: string, name: string, query = ""): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`[${name}] page error`, err));
  await page.goto(`${baseUrl}/${room}?name=${encodeURIComponent(name)}${query}`);
  return page;
}

/** Chromium sends at most two simulcast layers below 960×540; the fake camera is 640×480, so lift that limit to get the three a 720p camera would. */
export const THREE_SIMULCAST_LAYERS = "--force-fieldtrials=WebRTC-LegacySimulcastLayerLimit/Disabled/";
