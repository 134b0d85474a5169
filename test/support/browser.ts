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

/** Index of the media node (control ports controlBase, controlBase + 1, …) that hosts a room. */
export async function hostingNode(controlBase: number, nodes: number): Promise<number> {
  const rooms = await Promise.all(
    Array.from({ length: nodes }, async (_, i) => ((await (await fetch(`http://127.0.0.1:${controlBase + i}/healthz`)).json()) as { rooms: number }).rooms),
  );
  return rooms.findIndex((n) => n > 0);
}
