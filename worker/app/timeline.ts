/**
 * Page-load-relative milestones (performance.now() counts from navigation start), for the tests,
 * the benchmarks and debugging, through the window.__sfu hook.
 */
export const timeline: Array<[string, number]> = [];

export function mark(what: string): void {
  timeline.push([what, Math.round(performance.now())]);
}

let firstFrameMs: number | null = null;

/** Page load → first remote video frame shown, in ms; null until then. */
export const firstRemoteFrameMs = (): number | null => firstFrameMs;

/** A remote video frame reached the screen. */
export function remoteFrameShown(): void {
  if (firstFrameMs !== null) return;
  mark("first remote frame");
  firstFrameMs = performance.now();
}
