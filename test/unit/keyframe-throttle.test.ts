import { describe, expect, it } from "vitest";
import { KeyframeThrottle } from "../../media-node/src/forwarding/keyframe-throttle.ts";

describe("KeyframeThrottle", () => {
  it("lets the first request through, even at time 0", () => {
    expect(new KeyframeThrottle(500).request(0)).toBe(true);
  });

  it("has nothing pending before any suppressed request", () => {
    const t = new KeyframeThrottle(500);
    expect(t.nextDueIn(0)).toBeUndefined();
    expect(t.due(10_000)).toBe(false);
    t.request(1000);
    expect(t.nextDueIn(1000)).toBeUndefined();
    expect(t.due(5000)).toBe(false);
  });

  it("suppresses requests inside the interval and marks one pending", () => {
    const t = new KeyframeThrottle(500);
    expect(t.request(1000)).toBe(true);
    expect(t.request(1001)).toBe(false);
    expect(t.request(1200)).toBe(false);
    expect(t.request(1499)).toBe(false);
    expect(t.nextDueIn(1200)).toBe(300);
  });

  it("fires due() exactly once after the window, however many requests were suppressed", () => {
    const t = new KeyframeThrottle(500);
    t.request(1000);
    for (let now = 1010; now < 1500; now += 10) expect(t.request(now)).toBe(false);
    expect(t.due(1499)).toBe(false);
    expect(t.due(1500)).toBe(true);
    expect(t.due(1500)).toBe(false);
    expect(t.due(2500)).toBe(false);
    expect(t.nextDueIn(2500)).toBeUndefined();
  });

  it("starts a new window when due() fires", () => {
    const t = new KeyframeThrottle(500);
    t.request(0);
    t.request(100);
    expect(t.due(600)).toBe(true);
    expect(t.request(700)).toBe(false);
    expect(t.nextDueIn(700)).toBe(400);
    expect(t.due(1099)).toBe(false);
    expect(t.due(1100)).toBe(true);
  });

  it("a request after the window passes and clears the pending one", () => {
    const t = new KeyframeThrottle(500);
    t.request(0);
    t.request(100);
    expect(t.request(500)).toBe(true);
    expect(t.nextDueIn(500)).toBeUndefined();
    expect(t.due(2000)).toBe(false);
  });

  it("nextDueIn counts down and clamps at 0 once overdue", () => {
    const t = new KeyframeThrottle(1000);
    t.request(0);
    t.request(1);
    expect(t.nextDueIn(1)).toBe(999);
    expect(t.nextDueIn(750)).toBe(250);
    expect(t.nextDueIn(1000)).toBe(0);
    expect(t.nextDueIn(5000)).toBe(0);
    expect(t.due(5000)).toBe(true);
    expect(t.nextDueIn(5000)).toBeUndefined();
  });

  it("allows at most one request per interval under a steady storm", () => {
    const t = new KeyframeThrottle(250);
    let sent = 0;
    for (let now = 0; now < 10_000; now += 7) {
      if (t.request(now)) sent++;
      if (t.due(now)) sent++;
    }
    // 10 s / 250 ms = 40 windows; never more than one per window.
    expect(sent).toBeLessThanOrEqual(40);
    expect(sent).toBeGreaterThanOrEqual(39);
  });
});
