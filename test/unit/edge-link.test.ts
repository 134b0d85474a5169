import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Drain, type DrainHandlers } from "../../media-node/src/drain.ts";
import { EdgeSocketTimers } from "../../media-node/src/edge-socket-timers.ts";
import { setLogLevel } from "../../media-node/src/log.ts";
import { ManualClock, ManualScheduler } from "../../media-node/src/manual-scheduler.ts";
import { RedialBackoff } from "../../media-node/src/redial-backoff.ts";

/** One socket's timers on a fake clock; `fired` records what they did and when. */
function socketTimers(heartbeatMs = 1000, inventoryMs = 30_000) {
  const scheduler = new ManualScheduler(new ManualClock(10_000));
  const fired: string[] = [];
  const timers = new EdgeSocketTimers(scheduler, heartbeatMs, inventoryMs, {
    heartbeat: (now) => fired.push(`heartbeat@${now}`),
    inventory: (now) => fired.push(`inventory@${now}`),
    silent: (silentMs) => fired.push(`silent@${scheduler.clock.now()} after ${silentMs}`),
  });
  return { scheduler, fired, timers, at: (t: number) => scheduler.advance(10_000 + t - scheduler.clock.now()) };
}

describe("one socket's timers to the edge", () => {
  it("sends nothing before the welcome; from the welcome on, a heartbeat every heartbeatMs the welcome named", () => {
    const { fired, timers, at } = socketTimers(1000);
    timers.heard(); // the socket opened
    at(150);
    timers.heard(); // the welcome arrived
    timers.welcomed(200);
    expect(fired).toEqual(["inventory@10150"]);
    for (let t = 250; t <= 1050; t += 200) {
      at(t);
      timers.heard(); // each heartbeat's ack
    }
    expect(fired.filter((f) => f.startsWith("heartbeat"))).toEqual(["heartbeat@10350", "heartbeat@10550", "heartbeat@10750", "heartbeat@10950"]);
    expect(fired.some((f) => f.startsWith("silent"))).toBe(false);
  });

  it("reports the inventory at the welcome and every inventoryMs after", () => {
    const { fired, timers, at } = socketTimers(1000, 500);
    timers.welcomed(10_000);
    for (let t = 400; t <= 1600; t += 400) {
      at(t);
      timers.heard();
    }
    expect(fired.filter((f) => f.startsWith("inventory"))).toEqual(["inventory@10000", "inventory@10500", "inventory@11000", "inventory@11500"]);
  });

  it("calls the edge silent after three heartbeat intervals without a word, counted from the last word", () => {
    const { fired, timers, at } = socketTimers(1000);
    timers.welcomed(200);
    at(300);
    timers.heard(); // the last word
    at(899);
    expect(fired.filter((f) => f.startsWith("silent"))).toEqual([]);
    at(900);
    expect(fired.filter((f) => f.startsWith("silent"))).toEqual(["silent@10900 after 600"]);
  });

  it("before the welcome, waits three of the heartbeat intervals it was given for the first word", () => {
    const { fired, timers, at } = socketTimers(1000);
    timers.heard(); // the socket opened; the edge never says hello back
    at(2999);
    expect(fired).toEqual([]);
    at(3000);
    expect(fired).toEqual(["silent@13000 after 3000"]);
  });

  it("a closed socket's timers are all gone: no heartbeat, inventory or silence after stop", () => {
    const { scheduler, fired, timers, at } = socketTimers(1000, 500);
    timers.welcomed(200);
    fired.length = 0;
    timers.stop();
    timers.heard();
    at(60_000);
    expect(fired).toEqual([]);
    expect(scheduler.pending).toBe(0);
  });
});

describe("redialing the edge", () => {
  const MID = 0.5;

  it("starts small and doubles on each failed dial, up to a cap of 5 s", () => {
    const backoff = new RedialBackoff();
    const delays = Array.from({ length: 10 }, (_, i) => backoff.dropped(i * 10_000, 0));
    expect(delays).toEqual([50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it("adds up to the same again in jitter, never above the cap", () => {
    const jittered = (random: number, drops: number) => {
      const backoff = new RedialBackoff();
      let delay = 0;
      for (let i = 0; i < drops; i++) delay = backoff.dropped(0, random);
      return delay;
    };
    expect(jittered(MID, 1)).toBe(75);
    expect(jittered(0.999, 1)).toBe(100);
    expect(jittered(0.999, 7)).toBe(5000);
    expect(jittered(MID, 20)).toBe(5000);
  });

  it("starts over after a connection that lasted a second past its welcome", () => {
    const backoff = new RedialBackoff();
    for (let i = 0; i < 5; i++) backoff.dropped(0, 0);
    backoff.welcomed(100_000);
    expect(backoff.dropped(101_000, 0)).toBe(50);
    expect(backoff.dropped(101_100, 0)).toBe(100);
  });

  it("keeps growing after a connection dropped within a second of its welcome", () => {
    const backoff = new RedialBackoff();
    for (let i = 0; i < 5; i++) backoff.dropped(0, 0);
    backoff.welcomed(100_000);
    expect(backoff.dropped(100_999, 0)).toBe(1600);
  });

  it("a welcome counts for its own socket only: a later dial that fails is no lasting connection", () => {
    const backoff = new RedialBackoff();
    backoff.welcomed(0);
    expect(backoff.dropped(500, 0)).toBe(50);
    // The next socket never got a welcome; it failed long after the old one.
    expect(backoff.dropped(60_000, 0)).toBe(100);
  });
});

describe("draining before exit", () => {
  beforeAll(() => setLogLevel("error"));
  afterAll(() => setLogLevel("info"));

  function draining(rooms: number, timeoutMs = 30_000) {
    const scheduler = new ManualScheduler();
    const did: string[] = [];
    const held = { rooms };
    const handlers: DrainHandlers = {
      rooms: () => held.rooms,
      participants: () => held.rooms,
      tellEdge: () => (did.push("tell edge"), true),
      started: () => did.push("started"),
      exit: () => did.push(`exit@${scheduler.clock.now()}`),
      exitNow: () => did.push(`exit now@${scheduler.clock.now()}`),
    };
    const drain = new Drain(scheduler, timeoutMs, handlers);
    /** The last room goes: removed, then the room-closed event. */
    const closeRoom = () => {
      held.rooms--;
      drain.roomClosed();
    };
    return { scheduler, did, drain, closeRoom };
  }

  it("with no rooms: tells the edge, then exits at once", () => {
    const { did, drain } = draining(0);
    drain.signal("SIGTERM");
    expect(did).toEqual(["started", "tell edge", "exit@0"]);
  });

  it("holding rooms: keeps going until the last room is removed, then exits once", () => {
    const { scheduler, did, drain, closeRoom } = draining(2);
    drain.signal("SIGTERM");
    expect(drain.draining).toBe(true);
    expect(did).toEqual(["started", "tell edge"]);
    scheduler.advance(5000);
    closeRoom();
    scheduler.advance(1);
    expect(did).toEqual(["started", "tell edge"]);
    scheduler.advance(5000);
    closeRoom();
    // Checked once the request that freed the room has been answered, not inside it.
    expect(did).toEqual(["started", "tell edge"]);
    scheduler.advance(0);
    expect(did).toEqual(["started", "tell edge", "exit@10001"]);
    scheduler.advance(60_000);
    expect(did).toEqual(["started", "tell edge", "exit@10001"]);
  });

  it("exits once when the last rooms close together, and the timeout after that does nothing", () => {
    const { scheduler, did, drain, closeRoom } = draining(2, 1500);
    drain.signal("SIGTERM");
    closeRoom();
    closeRoom();
    scheduler.advance(5000);
    expect(did).toEqual(["started", "tell edge", "exit@0"]);
  });

  it("DRAIN_TIMEOUT_MS bounds the wait: exits with rooms still held", () => {
    const { scheduler, did, drain } = draining(1, 1500);
    drain.start("supervisor");
    scheduler.advance(1499);
    expect(did).toEqual(["started", "tell edge"]);
    scheduler.advance(1);
    expect(did).toEqual(["started", "tell edge", "exit@1500"]);
  });

  it("a room closing before the drain does not end the node", () => {
    const { scheduler, did, closeRoom } = draining(1);
    closeRoom();
    scheduler.advance(60_000);
    expect(did).toEqual([]);
  });

  it("a second signal exits at once, rooms and all; a second drain request does not", () => {
    const { scheduler, did, drain } = draining(1);
    drain.signal("SIGTERM");
    drain.start("supervisor");
    scheduler.advance(300);
    expect(did).toEqual(["started", "tell edge"]);
    drain.signal("SIGINT");
    expect(did).toEqual(["started", "tell edge", "exit now@300"]);
  });
});
