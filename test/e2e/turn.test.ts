/**
 * TURN with a real coturn (REST-API shared secret), real Chromium, the worker and a media node:
 * a relay-only browser reaching the node through TURN over TCP, as behind a network that blocks UDP;
 * expired credentials refused; and the app's plain-words message when even the relay cannot be used.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { turnCredentials } from "@sfu/shared";
import { openPage } from "../support/browser.ts";
import { startCoturn, type Coturn } from "../support/coturn.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { remoteStats, until } from "../support/page-stats.ts";

let coturn: Coturn;
beforeAll(async () => {
  coturn = await startCoturn();
});
afterAll(async () => {
  await coturn?.stop();
});
const browser = useChromium();

/** Only TURN over TCP is offered: the relay-only page then never sends UDP itself. */
const turnTcp = () => `turn:127.0.0.1:${coturn.port}?transport=tcp`;

interface Selected { local: string; remote: string; protocol: string }
const selectedCandidates = (page: Page) =>
  page.evaluate(() => (window as unknown as { __sfu: { selectedCandidates(): Promise<Record<string, Selected | null>> } }).__sfu.selectedCandidates());

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
  const system = useSystem(() => ({ turn: { urls: [turnTcp()], secret: coturn.secret } }));

  it("a relay-only participant behind TURN over TCP and a direct one decode each other", async () => {
    const room = `turn-${Date.now()}`;
    const relayed = await openPage(browser, system.url, room, "Rosa", { query: "&relay=1" });
    const direct = await openPage(browser, system.url, room, "Dan");
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
    const expired = await turnCredentials(coturn.secret, [turnTcp()], "late", 60, now - 120_000);
    const refused = await gatherRelay(page, expired);
    expect(refused.types).toEqual([]);
    expect(refused.errors).toContain(401);

    const fresh = await turnCredentials(coturn.secret, [turnTcp()], "fresh", 60, now);
    const allocated = await gatherRelay(page, fresh);
    expect(allocated.types).toContain("relay");
    expect(allocated.errors).toEqual([]);
  });
});

describe("TURN that cannot be used", () => {
  // The worker mints credentials with a secret coturn does not share: every allocation gets 401.
  const system = useSystem(() => ({ turn: { urls: [turnTcp()], secret: "not-the-turn-servers-secret" } }));

  it("a relay-only page says in plain words that media cannot connect, even through the relay", async () => {
    const page = await openPage(browser, system.url, `turn-refused-${Date.now()}`, "Vera", { query: "&relay=1" });
    await until("the relay notice", () => page.locator("#notice").textContent(), (t) => /cannot connect, even through the relay/.test(t ?? ""), { page });
    expect(await page.locator("#notice").isVisible()).toBe(true);
    expect(await page.locator("#conn").textContent()).toBe("media cannot connect");
  });
});
