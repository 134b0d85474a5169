import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

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
  for (const name of names) {
    const page = await (await browser.newContext()).newPage();
    page.on("pageerror", (err) => console.error(`[${name}] page error`, err));
    await page.goto(`${baseUrl}/${room}?name=${encodeURIComponent(name)}`);
    pages.push(page);
  }
  return pages;
}

/** Index of the media node (health ports healthBase, healthBase + 1, …: startSystem's healthPortBase) that hosts a room. */
export async function hostingNode(healthBase: number, nodes: number): Promise<number> {
  const rooms = await Promise.all(
    Array.from({ length: nodes }, async (_, i) => ((await (await fetch(`http://127.0.0.1:${healthBase + i}/healthz`)).json()) as { rooms: number }).rooms),
  );
  return rooms.findIndex((n) => n > 0);
}

/**
 * One page of `width` CSS px joined to `room` as `name`. A `viewer` has no camera or microphone
 * (receive-only), so only publishers encode.
 */
export async function openPage(browser: Browser, baseUrl: string, room: string, name: string, opts: { width: number; viewer: boolean }): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: opts.width, height: 900 }, deviceScaleFactor: 1 });
  if (opts.viewer) {
    await context.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Requested device not found", "NotFoundError"));
    });
  }
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`[${name}] page error`, err));
  await page.goto(`${baseUrl}/${room}?name=${name}`);
  return page;
}

/** Chromium sends at most two simulcast layers below 960×540; the fake camera is 640×480, so lift that limit to get the three a 720p camera would. */
export const THREE_SIMULCAST_LAYERS = "--force-fieldtrials=WebRTC-LegacySimulcastLayerLimit/Disabled/";
