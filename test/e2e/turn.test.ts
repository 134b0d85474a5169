/**
 * TURN with a real coturn (REST-API shared secret), real Chromium, the worker and a media node:
 * a relay-only browser reaching the node through TURN over TCP, as behind a network that blocks UDP;
 * expired credentials refused; and the app's plain-words message when even the relay cannot be used.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { turnCredentials } from "@sfu/shared";
import { startSystem, type RunningSystem } from "../../scripts/system.ts";
import { launchChromium } from "../support/browser.ts";
import { startCoturn, type Coturn } from "../support/coturn.ts";
import { remoteStats, until } from "../support/page-stats.ts";

const TURN_PORT = 34780;
/** Only TURN over TCP is offered: the relay-only page then never sends UDP itself. */
const TURN_TCP = `turn:127.0.0.1:${TURN_PORT}?transport=tcp`;
const PORTS = { workerPort: 18820, inspectorPort: 19262, rtcPortBase: 59000 };

let coturn: Coturn;
let browser: Browser;

beforeAll(async () => {
  coturn = await startCoturn({ port: TURN_PORT, minPort: 35000, maxPort: 35100 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await coturn?.stop();
});

interface Selected { local: string; remote: string; protocol: string }
const selectedCandidates = (page: Page) =>
  page.evaluate(() => (window as unknown as { __sfu: { selectedCandidates(): Promise<Record<string, Selected | null>> } }).__sfu.selectedCandidates());

async function open(baseUrl: string, room: string, name: string, query = ""): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (err) => console.error(`[${name}] page error`, err));
  await page.goto(`${baseUrl}/${room}?name=${name}${query}`);
  return page;
}

/**
 * Gathers candidates on a fresh relay-only RTCPeerConnection in `page` with one TURN server:
 * the candidate types gathered and the ICE candidate errors, once gathering completes.
 */
function gatherRelay(page: Page, server: RTCIceServer) {
  return page.evaluate(async (iceServer) => {
    const pc = new RTCPeerConnection({ iceServers: [iceServer], iceTransportPolicy: "relay" });
    const types: string[] = [];
    const errors: number[] = [];
    pc.onicecandidate = (e) => e.candidate?.candidate && types.push(e.candidate.type ?? "?");
    pc.onicecandidateerror = (e) => errors.push((e as RTCPeerConnectionIceErrorEvent).errorCode);
    const complete = new Promise<void>((resolve) => {
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    });
    pc.createDataChannel("probe");
    await pc.setLocalDescription(await pc.createOffer());
    await complete;
    pc.close();
    return { types, errors };
  }, server);
}

describe("TURN (coturn, REST-API credentials)", () => {
  let system: RunningSystem;
  beforeAll(async () => {
    system = await startSystem({ ...PORTS, turn: { urls: [TURN_TCP], secret: coturn.secret } });
  });
  afterAll(async () => system?.stop());

  it("a relay-only participant behind TURN over TCP and a direct one decode each other", async () => {
    const room = `turn-${Date.now()}`;
    const relayed = await open(system.url, room, "Rosa", "&relay=1");
    const direct = await open(system.url, room, "Dan");
    for (const [page, other] of [[relayed, "Dan"], [direct, "Rosa"]] as const) {
      const stats = await until(`${other}'s audio and video decoded`, () => remoteStats(page), (s) => {
        const e = Object.values(s);
        return e.length === 1 && (e[0]!.video?.framesDecoded ?? 0) > 0 && (e[0]!.audio?.totalSamplesReceived ?? 0) > 0;
      }, { page, timeoutMs: 45_000 });
      expect(Object.values(stats)[0]!.name).toBe(other);
    }
    // Both of the relay-only page's PeerConnections run over its TURN allocation (TCP to coturn).
    const selected = await until("relay page's selected pairs", () => selectedCandidates(relayed), (s) => !!s.publisher && !!s.subscriber, { page: relayed });
    expect(selected.publisher).toMatchObject({ local: "relay", protocol: "tcp" });
    expect(selected.subscriber).toMatchObject({ local: "relay", protocol: "tcp" });
    expect(await relayed.locator("#notice").isVisible()).toBe(false);
  });

  it("coturn refuses expired credentials and allocates with fresh ones", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${system.url}/`);
    const now = Date.now();
    // Expired a minute ago: minted two minutes ago with a one-minute lifetime.
    const expired = await turnCredentials(coturn.secret, [TURN_TCP], "late", 60, now - 120_000);
    const refused = await gatherRelay(page, expired);
    expect(refused.types).toEqual([]);
    expect(refused.errors).toContain(401);

    const fresh = await turnCredentials(coturn.secret, [TURN_TCP], "fresh", 60, now);
    const allocated = await gatherRelay(page, fresh);
    expect(allocated.types).toContain("relay");
    expect(allocated.errors).toEqual([]);
  });
});

describe("TURN that cannot be used", () => {
  let system: RunningSystem;
  beforeAll(async () => {
    // The worker mints credentials with a secret coturn does not share: every allocation gets 401.
    system = await startSystem({ ...PORTS, turn: { urls: [TURN_TCP], secret: "not-the-turn-servers-secret" } });
  });
  afterAll(async () => system?.stop());

  it("a relay-only page says in plain words that media cannot connect, even through the relay", async () => {
    const page = await open(system.url, `turn-refused-${Date.now()}`, "Vera", "&relay=1");
    await until("the relay notice", () => page.locator("#notice").textContent(), (t) => /cannot connect, even through the relay/.test(t ?? ""), { page });
    expect(await page.locator("#notice").isVisible()).toBe(true);
    expect(await page.locator("#conn").textContent()).toBe("media cannot connect");
  });
});
