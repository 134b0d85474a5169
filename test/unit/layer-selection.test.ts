import { describe, expect, it } from "vitest";
import { selectLayer, type LayerInfo } from "../../media-node/src/forwarding/layer-selection.ts";

const layers = (over: Partial<Record<string, Partial<LayerInfo>>> = {}): LayerInfo[] => [
  { rid: "q", width: 160, height: 120, bitrate: 150_000, active: true, ...over.q },
  { rid: "h", width: 320, height: 240, bitrate: 500_000, active: true, ...over.h },
  { rid: "f", width: 640, height: 480, bitrate: 1_500_000, active: true, ...over.f },
];
const tile = (width: number, height = Math.round((width * 3) / 4)) => ({ width, height });

describe("selectLayer: tile size", () => {
  it.each([
    [100, "q"],
    [160, "q"],
    [161, "h"],
    [320, "h"],
    [453, "f"],
    [640, "f"],
    [1920, "f"],
  ])("a tile %i px wide gets %s", (width, rid) => {
    expect(selectLayer(layers(), tile(width), Infinity, null)).toEqual({ rid, wanted: rid });
  });

  it("a tall tile needs the layer that covers its height too", () => {
    expect(selectLayer(layers(), { width: 150, height: 200 }, Infinity, null).rid).toBe("h");
  });

  it.each([
    ["0×0", { width: 0, height: 0 }],
    ["0 wide", { width: 0, height: 100 }],
    ["absent", undefined],
  ])("a hidden tile (%s) gets nothing", (_name, t) => {
    expect(selectLayer(layers(), t, Infinity, "f")).toEqual({ rid: null, wanted: null });
  });

  it("no layers: nothing", () => {
    expect(selectLayer([], tile(320), Infinity, null)).toEqual({ rid: null, wanted: null });
  });

  it("a layer whose size is not known yet covers nothing: the smallest known one that does is chosen", () => {
    expect(selectLayer(layers({ q: { width: 0, height: 0 } }), tile(100), Infinity, null).rid).toBe("h");
  });

  it("a single layer of unknown size (no simulcast, e.g. H264) is always chosen for a visible tile", () => {
    expect(selectLayer([{ rid: "", width: 0, height: 0, bitrate: 0, active: true }], tile(50), Infinity, null).rid).toBe("");
  });
});

describe("selectLayer: hysteresis on tile size", () => {
  it("a tile hovering just above a layer's width stays on that layer; it moves up only past ~111 %", () => {
    let current: string | null = "h";
    for (const w of [321, 340, 350, 330, 355]) {
      current = selectLayer(layers(), tile(w), Infinity, current).rid;
      expect(current).toBe("h");
    }
    current = selectLayer(layers(), tile(360), Infinity, current).rid;
    expect(current).toBe("f");
  });

  it("coming down, it stays on the larger layer until the smaller one covers the tile", () => {
    let current: string | null = "f";
    for (const w of [355, 340, 321]) {
      current = selectLayer(layers(), tile(w), Infinity, current).rid;
      expect(current).toBe("f");
    }
    expect(selectLayer(layers(), tile(320), Infinity, current).rid).toBe("h");
  });

  it("a tile oscillating across a boundary does not flap", () => {
    let current: string | null = null;
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      current = selectLayer(layers(), tile(i % 2 ? 315 : 335), Infinity, current).rid;
      seen.push(current!);
    }
    expect(new Set(seen.slice(1)).size).toBe(1);
  });
});

describe("selectLayer: bandwidth budget", () => {
  it("steps down while the layer's bitrate exceeds the budget", () => {
    expect(selectLayer(layers(), tile(640), 1_000_000, null)).toEqual({ rid: "h", wanted: "h" });
    expect(selectLayer(layers(), tile(640), 400_000, null)).toEqual({ rid: "q", wanted: "q" });
  });

  it("falls back to the lowest layer when nothing fits", () => {
    expect(selectLayer(layers(), tile(640), 10_000, null)).toEqual({ rid: "q", wanted: "q" });
  });

  it("never goes above what the tile needs, however large the budget", () => {
    expect(selectLayer(layers(), tile(160), 100_000_000, null).rid).toBe("q");
  });

  it("ramps down and back up with the budget, stepping up only with 15 % headroom", () => {
    let current: string | null = "f";
    const path: string[] = [];
    for (const budget of [2_000_000, 1_400_000, 450_000, 100_000, 540_000, 600_000, 1_600_000, 1_800_000]) {
      current = selectLayer(layers(), tile(640), budget, current).rid;
      path.push(current!);
    }
    expect(path).toEqual(["f", "h", "q", "q", "q", "h", "h", "f"]);
  });

  it("a layer of unknown bitrate (just started) fits any budget", () => {
    expect(selectLayer(layers({ f: { bitrate: 0 } }), tile(640), 1_000, null).rid).toBe("f");
  });
});

describe("selectLayer: layers that are not arriving", () => {
  it("forwards the nearest active layer below the wanted one, and still wants the paused one", () => {
    expect(selectLayer(layers({ f: { active: false } }), tile(640), Infinity, null)).toEqual({ rid: "h", wanted: "f" });
  });

  it("goes above when nothing below is active", () => {
    expect(selectLayer(layers({ q: { active: false } }), tile(100), Infinity, null)).toEqual({ rid: "h", wanted: "q" });
  });

  it("nothing active: nothing to forward", () => {
    const none = layers({ q: { active: false }, h: { active: false }, f: { active: false } });
    expect(selectLayer(none, tile(640), Infinity, null)).toEqual({ rid: null, wanted: "f" });
  });
});
