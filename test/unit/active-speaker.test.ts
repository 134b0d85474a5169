import { describe, expect, it } from "vitest";
import { ActiveSpeakerDetector } from "../../media-node/src/forwarding/active-speaker.ts";

/** Feeds `level` for each participant every 20 ms (a 50 packet/s audio stream) from `from` to `to`. */
function feed(d: ActiveSpeakerDetector, levels: Record<string, number>, from: number, to: number): void {
  for (let t = from; t < to; t += 20) for (const [id, level] of Object.entries(levels)) d.observe(id, level, t);
}

describe("ActiveSpeakerDetector", () => {
  it("names nobody while everyone is silent", () => {
    const d = new ActiveSpeakerDetector();
    feed(d, { a: 127, b: 120 }, 0, 1000);
    expect(d.tick(1000)).toBeUndefined();
  });

  it("names the loudest participant once someone speaks, and reports only changes", () => {
    const d = new ActiveSpeakerDetector();
    feed(d, { a: 40, b: 70 }, 0, 1000);
    expect(d.tick(1000)).toBe("a");
    feed(d, { a: 40, b: 70 }, 1000, 1300);
    expect(d.tick(1300)).toBeUndefined();
  });

  it("keeps the floor against someone only slightly louder (hysteresis), yields to someone clearly louder", () => {
    const d = new ActiveSpeakerDetector({ margin: 6 });
    feed(d, { a: 50, b: 60 }, 0, 1000);
    expect(d.tick(1000)).toBe("a");
    feed(d, { a: 50, b: 47 }, 1000, 3000);
    expect(d.tick(3000)).toBeUndefined();
    feed(d, { a: 50, b: 30 }, 3000, 4000);
    expect(d.tick(4000)).toBe("b");
  });

  it("a speaker who stops sending (muted) loses the floor after the window", () => {
    const d = new ActiveSpeakerDetector({ windowMs: 1500 });
    feed(d, { a: 40, b: 80 }, 0, 1000);
    expect(d.tick(1000)).toBe("a");
    feed(d, { b: 60 }, 1000, 2000);
    expect(d.tick(2000)).toBeUndefined(); // a's loud packets are still inside the window
    feed(d, { b: 60 }, 2000, 3000);
    expect(d.tick(3000)).toBe("b");
  });

  it("short pauses between words do not drop the speaker", () => {
    const d = new ActiveSpeakerDetector();
    feed(d, { a: 40 }, 0, 300);
    expect(d.tick(300)).toBe("a");
    expect(d.tick(1200)).toBeUndefined(); // 900 ms of nothing
    expect(d.tick(2000)).toBeNull(); // now the window is empty
  });

  it("works at wall-clock times (epoch milliseconds), not just small test times", () => {
    const d = new ActiveSpeakerDetector();
    const t0 = 1_764_000_000_000;
    feed(d, { a: 40, b: 90 }, t0, t0 + 1000);
    expect(d.tick(t0 + 1000)).toBe("a");
  });

  it("a removed participant is forgotten", () => {
    const d = new ActiveSpeakerDetector();
    feed(d, { a: 40 }, 0, 500);
    expect(d.tick(500)).toBe("a");
    d.remove("a");
    expect(d.tick(600)).toBeNull();
  });
});
