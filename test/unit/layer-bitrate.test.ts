import { describe, expect, it } from "vitest";
import { LAYER_TIMEOUT_MS, TrackLayers } from "../../media-node/src/layers.ts";
import { ManualScheduler } from "../../media-node/src/manual-scheduler.ts";

/** A VP8 packet that starts no keyframe (S bit clear), `bytes` long. */
const packet = (bytes: number) => new Uint8Array(bytes);
/** 1 Mbps of `rid`: a 1,238-byte payload (+12 header bytes = 1,250) every 10 ms, from `from` until `to`. */
function send(layers: TrackLayers, rid: string, from: number, to: number): void {
  for (let t = from; t < to; t += 10) layers.observe(rid, packet(1238), t);
}
const rateOf = (layers: TrackLayers, rid: string, now: number) => layers.infos(now).find((l) => l.rid === rid)!;

describe("a simulcast layer's bitrate, as layer selection sees it", () => {
  it("is measured over a whole window of arriving packets", () => {
    const layers = new TrackLayers("t", "video/VP8", new ManualScheduler());
    layers.declare("f");
    send(layers, "f", 0, 500);
    expect(rateOf(layers, "f", 500).bitrate).toBe(0); // half a window: not known yet
    send(layers, "f", 500, 3000);
    expect(rateOf(layers, "f", 3000).bitrate).toBeGreaterThan(900_000);
    expect(rateOf(layers, "f", 3000).bitrate).toBeLessThan(1_100_000);
  });

  it("keeps its rate once the publisher pauses it, though it counts as active for a while (it used to fall toward 0)", () => {
    const layers = new TrackLayers("t", "video/VP8", new ManualScheduler());
    send(layers, "f", 0, 3000);
    const last = 2990;
    const running = rateOf(layers, "f", last).bitrate;
    expect(running).toBeGreaterThan(900_000);
    for (const after of [200, 600, 1000, LAYER_TIMEOUT_MS - 10]) {
      const seen = rateOf(layers, "f", last + after);
      expect(seen.active).toBe(true);
      expect(seen.bitrate).toBe(running);
    }
    const paused = rateOf(layers, "f", last + LAYER_TIMEOUT_MS + 500);
    expect([paused.active, paused.bitrate]).toEqual([false, running]);
  });

  it("keeps the rate it had while a resumed layer ramps up, then takes the new one", () => {
    const layers = new TrackLayers("t", "video/VP8", new ManualScheduler());
    send(layers, "f", 0, 3000);
    const before = rateOf(layers, "f", 3000).bitrate;
    // Paused for 5 s, then back at a quarter of the rate (one packet every 40 ms).
    for (let t = 8000; t < 8600; t += 40) layers.observe("f", packet(1238), t);
    expect(rateOf(layers, "f", 8600).bitrate).toBe(before);
    for (let t = 8600; t < 10_000; t += 40) layers.observe("f", packet(1238), t);
    const after = rateOf(layers, "f", 10_000).bitrate;
    expect(after).toBeGreaterThan(200_000);
    expect(after).toBeLessThan(300_000);
  });
});
