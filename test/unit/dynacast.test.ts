import { describe, expect, it } from "vitest";
import { BitrateMeter } from "../../media-node/src/forwarding/bitrate.ts";
import { DemandDebouncer, layerDemand } from "../../media-node/src/forwarding/dynacast.ts";
import { LayerSwitcher } from "../../media-node/src/forwarding/layer-switcher.ts";

const RIDS = ["q", "h", "f"];

describe("layerDemand", () => {
  it("nobody watching: only the lowest layer is kept", () => {
    expect(layerDemand(RIDS, [])).toEqual(["q"]);
    expect(layerDemand(RIDS, [{ current: null, wanted: null }])).toEqual(["q"]);
  });

  it("the union of what subscribers receive and want, in layer order", () => {
    expect(layerDemand(RIDS, [{ current: "f", wanted: "f" }, { current: "q", wanted: "q" }])).toEqual(["q", "f"]);
    expect(layerDemand(RIDS, [{ current: "h", wanted: "h" }])).toEqual(["q", "h"]);
  });

  it("a subscriber between layers keeps both: the old one until its switch happens", () => {
    expect(layerDemand(RIDS, [{ current: "f", wanted: "h" }])).toEqual(["q", "h", "f"]);
  });

  it("a paused layer that someone wants is demanded (so it resumes)", () => {
    expect(layerDemand(RIDS, [{ current: "h", wanted: "f" }])).toEqual(["q", "h", "f"]);
  });

  it("no layers: nothing", () => {
    expect(layerDemand([], [{ current: "x", wanted: "x" }])).toEqual([]);
  });
});

describe("DemandDebouncer", () => {
  it("pauses a layer only after it has been unneeded for the hold time, and says so once", () => {
    const d = new DemandDebouncer(3000);
    expect(d.update(RIDS, ["q"], 0)).toBeUndefined(); // the publisher starts with all three on
    expect(d.update(RIDS, ["q"], 2999)).toBeUndefined();
    expect(d.update(RIDS, ["q"], 3000)).toEqual(["q"]);
    expect(d.update(RIDS, ["q"], 4000)).toBeUndefined();
  });

  it("turns a layer back on at once", () => {
    const d = new DemandDebouncer(3000);
    d.update(RIDS, ["q"], 0);
    expect(d.update(RIDS, ["q"], 5000)).toEqual(["q"]);
    expect(d.update(RIDS, ["q", "f"], 5100)).toEqual(["q", "f"]);
  });

  it("demand that flickers within the hold time does not flap the publisher", () => {
    const d = new DemandDebouncer(3000);
    const out: Array<string[] | undefined> = [];
    for (let t = 0; t < 10_000; t += 300) out.push(d.update(RIDS, t % 600 ? ["q", "h"] : ["q", "h", "f"], t));
    expect(out.every((x) => x === undefined)).toBe(true);
  });

  it("a layer stays on while any demand keeps renewing it", () => {
    const d = new DemandDebouncer(1000);
    d.update(RIDS, ["q", "h", "f"], 0);
    expect(d.update(RIDS, ["q", "h", "f"], 5000)).toBeUndefined();
    expect(d.update(RIDS, ["q", "h"], 5500)).toBeUndefined();
    expect(d.update(RIDS, ["q", "h"], 6000)).toEqual(["q", "h"]);
  });
});

describe("LayerSwitcher", () => {
  const key = () => true;
  const delta = () => false;

  it("starts receiving only at a keyframe of the target layer", () => {
    const s = new LayerSwitcher();
    expect(s.setTarget("h")).toBe(true);
    expect(s.accept("h", delta)).toBe("drop");
    expect(s.accept("q", key)).toBe("drop");
    expect(s.accept("h", key)).toBe("switch");
    expect(s.accept("h", delta)).toBe("forward");
    expect(s.current).toBe("h");
  });

  it("keeps the old layer until the new one's keyframe, then drops the old one", () => {
    const s = new LayerSwitcher();
    s.setTarget("f");
    s.accept("f", key);
    expect(s.setTarget("q")).toBe(true);
    expect(s.switching).toBe(true);
    expect(s.accept("f", delta)).toBe("forward");
    expect(s.accept("q", delta)).toBe("drop");
    expect(s.accept("q", key)).toBe("switch");
    expect(s.accept("f", key)).toBe("drop");
    expect(s.accept("f", delta)).toBe("drop");
    expect(s.accept("q", delta)).toBe("forward");
  });

  it("a target set back to the current layer cancels the switch", () => {
    const s = new LayerSwitcher();
    s.setTarget("h");
    s.accept("h", key);
    s.setTarget("f");
    expect(s.setTarget("h")).toBe(false);
    expect(s.switching).toBe(false);
    expect(s.accept("h", delta)).toBe("forward");
  });

  it("hiding stops at once; showing again waits for a keyframe", () => {
    const s = new LayerSwitcher();
    s.setTarget("h");
    s.accept("h", key);
    expect(s.setTarget(null)).toBe(false);
    expect(s.accept("h", delta)).toBe("drop");
    expect(s.setTarget("h")).toBe(true);
    expect(s.accept("h", delta)).toBe("drop");
    expect(s.accept("h", key)).toBe("switch");
  });

  it("does not ask about keyframes when it does not need to", () => {
    const s = new LayerSwitcher();
    s.setTarget("h");
    s.accept("h", key);
    expect(s.accept("h", () => {
      throw new Error("asked");
    })).toBe("forward");
  });
});

describe("BitrateMeter", () => {
  it("measures a steady stream over its window", () => {
    const m = new BitrateMeter(1000, 100);
    for (let t = 0; t < 3000; t += 10) m.add(1250, t); // 1250 B every 10 ms = 1 Mbps
    expect(m.bps(2999)).toBeCloseTo(1_000_000, -4);
  });

  it("forgets what is older than the window", () => {
    const m = new BitrateMeter(1000, 100);
    for (let t = 0; t < 1000; t += 10) m.add(1250, t);
    expect(m.bps(1999)).toBeLessThan(20_000);
    expect(m.bps(5000)).toBe(0);
  });
});
