import { describe, expect, it } from "vitest";
import { ManualClock, ManualScheduler } from "../../media-node/src/manual-scheduler.ts";

describe("ManualScheduler (the node's timers under test)", () => {
  it("fires each timer at its due time, with the clock at that time, in time order", () => {
    const s = new ManualScheduler(new ManualClock(100));
    const fired: string[] = [];
    s.every(300, (now) => fired.push(`tick@${now}`));
    s.after(450, (now) => fired.push(`once@${now}`));
    s.advance(1000);
    expect(fired).toEqual(["tick@400", "once@550", "tick@700", "tick@1000"]);
    expect(s.clock.now()).toBe(1100);
  });

  it("fires timers due at the same time in the order they were set up", () => {
    const s = new ManualScheduler();
    const fired: string[] = [];
    s.every(20, () => fired.push("a"));
    s.every(40, () => fired.push("b"));
    s.advance(40);
    expect(fired).toEqual(["a", "a", "b"]);
  });

  it("a cancelled timer does not fire; cancelling twice is harmless", () => {
    const s = new ManualScheduler();
    let n = 0;
    const cancel = s.every(10, () => n++);
    s.advance(25);
    cancel();
    cancel();
    s.advance(100);
    expect(n).toBe(2);
    expect(s.pending).toBe(0);
  });

  it("a timer set from a callback fires within the same advance when it falls due", () => {
    const s = new ManualScheduler();
    const fired: number[] = [];
    s.after(10, () => s.after(5, (now) => fired.push(now)));
    s.advance(20);
    expect(fired).toEqual([15]);
  });

  it("close cancels everything and schedules nothing afterwards", () => {
    const s = new ManualScheduler();
    let n = 0;
    s.every(10, () => n++);
    s.after(10, () => n++);
    s.close();
    s.after(1, () => n++);
    s.advance(100);
    expect(n).toBe(0);
    expect(s.pending).toBe(0);
  });

  it("maps a monotonic instant to the wall clock through one anchor", () => {
    const clock = new ManualClock(0, 1_700_000_000_000);
    expect(clock.wallMs(2500) - clock.wallMs(500)).toBe(2000);
    expect(clock.wallMs(0)).toBe(1_700_000_000_000);
  });
});
