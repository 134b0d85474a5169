/**
 * What a system test file starts in beforeAll and stops in afterAll, registered with one call each.
 * Vitest runs "after" hooks in reverse: what is registered later stops first (Chromium before the system).
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchChromium } from "./browser.ts";
import { startTestSystem, type TestSystem, type TestSystemSetup } from "./test-system.ts";
import { WeriftPeer } from "./werift-peer.ts";

/**
 * The system for the tests of this file (or of the describe it is called in), on free ports. Given as
 * a function, the options are read when the system starts: after earlier beforeAll hooks ran.
 */
export function useSystem(setup: TestSystemSetup = {}): TestSystem {
  let system: TestSystem | undefined;
  beforeAll(async () => {
    system = await startTestSystem(setup);
  });
  afterAll(async () => {
    await system?.stop();
    system = undefined;
  });
  return whileStarted("the system", () => system);
}

/** A headless Chromium for the tests of this file (see launchChromium). */
export function useChromium(extraArgs: readonly string[] = []): Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium(extraArgs);
  });
  afterAll(async () => {
    await browser?.close();
    browser = undefined;
  });
  return whileStarted("Chromium", () => browser);
}

/** Werift participants in `system`'s rooms, all closed after the tests (before the system stops when registered after it). */
export function useWeriftPeers(system: { url: string }): { join: (room: string, name: string, opts?: { subscriberLossPercent?: number }) => Promise<WeriftPeer> } {
  const peers: WeriftPeer[] = [];
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });
  return {
    join: async (room, name, opts) => {
      const peer = await WeriftPeer.join(system.url, room, name, opts);
      peers.push(peer);
      return peer;
    },
  };
}

/** Stands for what a beforeAll starts: every property is read from `current()` when used, which must be running then. */
function whileStarted<T extends object>(what: string, current: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_, key) {
      const target = current();
      if (!target) throw new Error(`${what} is used outside the tests that started it (before its beforeAll or after its afterAll)`);
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
