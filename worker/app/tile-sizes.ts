/**
 * Reports remote video tiles' rendered sizes to the room (subscription-prefs), from which the node
 * picks each track's simulcast layer: changed sizes only, once they settle.
 */
import { MAX_PREFS_TRACKS, type ClientMessageBody, type SubscribedTrack, type TrackPreference } from "@sfu/shared/room-protocol";
import type { Tile } from "./tile.ts";

/** Tile sizes are reported this long after they stop changing. */
const PREFS_DEBOUNCE_MS = 300;

export interface TileSizesHost {
  /** The remote tracks our subscriber receives now. */
  subscribed(): Iterable<SubscribedTrack>;
  tileFor(track: SubscribedTrack): Tile | undefined;
  send(body: ClientMessageBody): void;
}

export class TileSizes {
  /** trackId → "W×H" last reported to the room. */
  readonly #reported = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #resizes = new ResizeObserver(() => this.schedule());

  constructor(private readonly host: TileSizesHost) {}

  observe(tile: Tile): void {
    this.#resizes.observe(tile.video);
  }

  unobserve(tile: Tile): void {
    this.#resizes.unobserve(tile.video);
  }

  /** Reports changed sizes (device px; 0×0 when hidden or gone) once they have settled. */
  schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#report(), PREFS_DEBOUNCE_MS);
  }

  /** A fresh subscriber (new node state): every tile's size is reported again. */
  forget(): void {
    this.#reported.clear();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#resizes.disconnect();
  }

  #report(): void {
    const changed: TrackPreference[] = [];
    const current = new Set<string>();
    for (const t of this.host.subscribed()) {
      if (t.kind !== "video") continue;
      current.add(t.trackId);
      const [width, height] = this.host.tileFor(t)?.renderedSize() ?? [0, 0];
      const key = `${width}x${height}`;
      if (this.#reported.get(t.trackId) === key) continue;
      this.#reported.set(t.trackId, key);
      changed.push({ trackId: t.trackId, width, height });
    }
    for (const id of [...this.#reported.keys()]) if (!current.has(id)) this.#reported.delete(id);
    for (let i = 0; i < changed.length; i += MAX_PREFS_TRACKS) this.host.send({ type: "subscription-prefs", tracks: changed.slice(i, i + MAX_PREFS_TRACKS) });
  }
}
