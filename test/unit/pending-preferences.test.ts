import { MAX_PREFS_TRACKS, type TrackPreference } from "@sfu/shared";
import { describe, expect, it } from "vitest";
import { MAX_PENDING_PREFERENCES, PendingPreferences } from "../../worker/src/room/pending-preferences.ts";

const pref = (trackId: string, width: number): TrackPreference => ({ trackId, width, height: width / 2 });

describe("a subscriber's pending tile sizes", () => {
  it("asks for one send, keeps the latest size per track meanwhile, and sends them together", () => {
    const pending = new PendingPreferences();
    expect(pending.add([pref("a", 100)])).toBe(true);
    expect(pending.take()).toEqual([pref("a", 100)]);
    // On its way: later sizes wait, and nobody is asked to start another send.
    for (let i = 1; i <= 2000; i++) expect(pending.add([pref(`t${i % 4}`, i * 2), pref("a", i * 2)])).toBe(false);
    expect(pending.take()).toEqual([pref("t1", 3994), pref("t2", 3996), pref("t3", 3998), pref("t0", 4000), pref("a", 4000)].sort((x, y) => order(x) - order(y)));
    expect(pending.take()).toEqual([]);
    expect(pending.idle).toBe(true);
    // Once the sending is over, the next size asks for a send again.
    expect(pending.add([pref("a", 10)])).toBe(true);
    expect(pending.idle).toBe(false);
  });

  it("sends at most MAX_PREFS_TRACKS a batch, longest-waiting first", () => {
    const pending = new PendingPreferences();
    pending.add(Array.from({ length: 64 }, (_, i) => pref(`x${i}`, 2)));
    pending.add(Array.from({ length: 10 }, (_, i) => pref(`y${i}`, 2)));
    pending.add([pref("x0", 4)]); // a newer size moves it to the back
    const first = pending.take();
    expect(first).toHaveLength(MAX_PREFS_TRACKS);
    expect(first[0]!.trackId).toBe("x1");
    expect(pending.take().map((p) => p.trackId)).toEqual(["y1", "y2", "y3", "y4", "y5", "y6", "y7", "y8", "y9", "x0"]);
    expect(pending.take()).toEqual([]);
  });

  it("holds at most MAX_PENDING_PREFERENCES tracks, dropping the longest-waiting", () => {
    const pending = new PendingPreferences();
    for (let i = 0; i < 1000; i++) pending.add([pref(`made-up-${i}`, 2)]);
    const sent: TrackPreference[] = [];
    for (let batch = pending.take(); batch.length > 0; batch = pending.take()) sent.push(...batch);
    expect(sent).toHaveLength(MAX_PENDING_PREFERENCES);
    expect(sent[0]!.trackId).toBe(`made-up-${1000 - MAX_PENDING_PREFERENCES}`);
    expect(sent.at(-1)!.trackId).toBe("made-up-999");
  });
});

/** The order the last add left them in: each add moved its tracks to the back. */
function order(p: TrackPreference): number {
  return ["t1", "t2", "t3", "t0", "a"].indexOf(p.trackId);
}
