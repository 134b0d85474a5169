/**
 * What a system test file starts in beforeAll and stops in afterAll, registered with one call each.
 * Vitest runs "after" hooks in reverse: what is registered later stops first (Chromium before the system).
 */
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll } from "vitest";
import { launchChromium } from "./browser.ts";
import { startTestSystem, type TestSystem, type TestSystemSetup } from "./test-system.ts";
import { WeriftPeer } from "./werift-peer.ts";

/**
 * The system for the tests of this file (or of the describe it is called in), on free ports. Given as
 * a function, the options are read when the system starts: after earlier beforeAll hooks ran.
 */
export function useSystem(setup: TestSystemSetup = {}): TestSystem {
  const system = useStarted("the system", () => startTestSystem(setup), (s) => s.stop());
  // A failed test's report ends with what the worker and the nodes logged last (a node that
  // redialed, a room moved...): a flaky failure is diagnosed from the run that had it.
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") process.stderr.write(`[${ctx.task.name}] system output:\n${system.outputTails()}\n`);
  });
  return system;
}

/** A headless Chromium for the tests of this file (see launchChromium). */
export function useChromium(extraArgs: readonly string[] = []): Browser {
  return useStarted("Chromium", () => launchChromium(extraArgs), (browser) => browser.close());
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

/**
 * Starts a thing in beforeAll and stops it in afterAll. What it returns stands for the thing: every
 * property is read from it when used, which must be between the two hooks.
 */
function useStarted<T extends object>(what: string, start: () => Promise<T>, stop: (started: T) => Promise<void>): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    if (started) await stop(started);
    started = undefined;
  });
  return new Proxy({} as T, {
    get(_, key) {
      const target = started;
      if (!target) throw new Error(`${what} is used outside the tests that started it (before its beforeAll or after its afterAll)`);
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
