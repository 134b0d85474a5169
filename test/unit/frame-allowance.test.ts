import { BAD_FRAME_WINDOW_MS, MAX_BAD_FRAMES, SIGNAL_BURST, SIGNAL_RATE_PER_S } from "@sfu/shared";
import { describe, expect, it } from "vitest";
import { countBadFrame, freshAllowance, takeToken, type FrameAllowance } from "../../worker/src/room/frame-allowance.ts";

const T0 = 1_000_000;

/** Sends `n` messages at `now`; how many were allowed, and the allowance after. */
function send(a: FrameAllowance, n: number, now: number): { allowance: FrameAllowance; allowed: number } {
  let allowed = 0;
  for (let i = 0; i < n; i++) {
    const r = takeToken(a, now);
    a = r.allowance;
    if (r.allowed) allowed++;
  }
  return { allowance: a, allowed };
}

describe("the message rate (token bucket)", () => {
  it("lets a burst of SIGNAL_BURST through at once, then refuses", () => {
    const { allowance, allowed } = send(freshAllowance(T0), SIGNAL_BURST + 30, T0);
    expect(allowed).toBe(SIGNAL_BURST);
    expect(takeToken(allowance, T0).allowed).toBe(false);
  });

  it("refills at SIGNAL_RATE_PER_S: an emptied bucket allows that many more a second later", () => {
    const { allowance } = send(freshAllowance(T0), SIGNAL_BURST, T0);
    expect(takeToken(allowance, T0 + 1000 / SIGNAL_RATE_PER_S / 2).allowed).toBe(false);
    expect(send(allowance, 100, T0 + 1000).allowed).toBe(SIGNAL_RATE_PER_S);
  });

  it("sustains SIGNAL_RATE_PER_S for a minute, but no more", () => {
    let a = send(freshAllowance(T0), SIGNAL_BURST, T0).allowance;
    let allowed = 0;
    // Twice the rate, evenly spread.
    const step = 1000 / (2 * SIGNAL_RATE_PER_S);
    for (let t = step; t <= 60_000; t += step) {
      const r = takeToken(a, T0 + t);
      a = r.allowance;
      if (r.allowed) allowed++;
    }
    expect(allowed).toBe(60 * SIGNAL_RATE_PER_S);
  });

  it("refills no further than the burst however long the socket was quiet (e.g. hibernated)", () => {
    const a = send(freshAllowance(T0), SIGNAL_BURST, T0).allowance;
    expect(send(a, SIGNAL_BURST * 3, T0 + 3_600_000).allowed).toBe(SIGNAL_BURST);
  });

  it("a clock that steps back neither refills nor drains", () => {
    const a = send(freshAllowance(T0), SIGNAL_BURST - 1, T0).allowance;
    expect(send(a, 5, T0 - 10_000).allowed).toBe(1);
  });

  it("the state is plain data: it survives a JSON round trip (a socket attachment) unchanged", () => {
    const a = send(freshAllowance(T0), 7, T0 + 5).allowance;
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });
});

describe("bad frames", () => {
  it("MAX_BAD_FRAMES within the window make the socket abusive; fewer do not", () => {
    let a = freshAllowance(T0);
    for (let i = 1; i < MAX_BAD_FRAMES; i++) {
      const r = countBadFrame(a, T0 + i);
      expect(r.abusive).toBe(false);
      a = r.allowance;
    }
    expect(countBadFrame(a, T0 + MAX_BAD_FRAMES).abusive).toBe(true);
  });

  it("the count starts afresh once the window since the first bad frame has passed", () => {
    let a = freshAllowance(T0);
    for (let i = 1; i < MAX_BAD_FRAMES; i++) a = countBadFrame(a, T0).allowance;
    const later = countBadFrame(a, T0 + BAD_FRAME_WINDOW_MS);
    expect(later.abusive).toBe(false);
    expect(later.allowance.badFrames).toBe(1);
    expect(later.allowance.badSince).toBe(T0 + BAD_FRAME_WINDOW_MS);
  });

  it("a slow trickle of bad frames (fewer than the limit per window) never closes the socket", () => {
    let a = freshAllowance(T0);
    const step = BAD_FRAME_WINDOW_MS / (MAX_BAD_FRAMES - 2);
    for (let t = 0; t < 10 * BAD_FRAME_WINDOW_MS; t += step) {
      const r = countBadFrame(a, T0 + t);
      expect(r.abusive).toBe(false);
      a = r.allowance;
    }
  });
});
