import { MAX_PREFS_TRACKS, type TrackPreference } from "@sfu/shared";

/**
 * Most tracks whose latest tile size one subscriber can have waiting. A room shows far fewer; past
 * it the longest-waiting entries give way, so a flood of made-up track ids holds bounded memory.
 */
export const MAX_PENDING_PREFERENCES = 256;

/**
 * One subscriber's tile sizes on their way to the node: the latest per track, sent by at most one
 * node call at a time. A flood of `subscription-prefs` becomes a few calls carrying the last sizes,
 * instead of one call each. Sans-IO: the shell calls `take` when it may send and sends what it gets.
 */
export class PendingPreferences {
  private readonly latest = new Map<string, TrackPreference>();
  private sending = false;

  /** Keeps the newest size of each track. True when the caller must start sending (nothing is on its way). */
  add(prefs: readonly TrackPreference[]): boolean {
    for (const pref of prefs) {
      this.latest.delete(pref.trackId); // re-inserted last: the oldest waiting entry is evicted first
      this.latest.set(pref.trackId, pref);
    }
    for (const trackId of this.latest.keys()) {
      if (this.latest.size <= MAX_PENDING_PREFERENCES) break;
      this.latest.delete(trackId);
    }
    if (this.sending) return false;
    this.sending = true;
    return true;
  }

  /**
   * The next batch for one node call (at most MAX_PREFS_TRACKS, longest-waiting first), taken out
   * of the pending set. Empty when nothing waits: sending is over until the next `add`.
   */
  take(): TrackPreference[] {
    const batch: TrackPreference[] = [];
    for (const [trackId, pref] of this.latest) {
      if (batch.length === MAX_PREFS_TRACKS) break;
      batch.push(pref);
      this.latest.delete(trackId);
    }
    if (batch.length === 0) this.sending = false;
    return batch;
  }

  /** Nothing waits and nothing is on its way. */
  get idle(): boolean {
    return !this.sending && this.latest.size === 0;
  }
}
