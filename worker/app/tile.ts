/**
 * A participant's tile: in the grid, its camera (with its audio), name, mute flags and live stats;
 * on the stage, its screen share.
 */
import { useSpeaker } from "./devices.ts";
import { MAX_TILE_PX, sourceOf, type ParticipantInfo } from "@sfu/shared/room-protocol";
import { page, showNotice } from "./page.ts";
import type { Quality } from "./quality.ts";
import { StatsText, type RemoteStats } from "./stats.ts";
import { mark, remoteFrameShown } from "./timeline.ts";

export class Tile {
  readonly el = document.createElement("div");
  readonly video = document.createElement("video");
  readonly #stream = new MediaStream();
  /** The received track each subscriber mid puts on this tile. */
  readonly #byMid = new Map<string, MediaStreamTrack>();
  readonly #name = document.createElement("span");
  readonly #flags = document.createElement("div");
  readonly #stats = document.createElement("div");
  readonly #quality = document.createElement("span");
  readonly #pin = document.createElement("button");
  /** The pin button was clicked. */
  onPin: () => void = () => {};
  readonly #statsText = new StatsText();

  constructor(
    p: ParticipantInfo,
    readonly local: boolean,
    readonly shows: "camera" | "screen" = "camera",
  ) {
    this.el.className = `tile${local ? " local" : ""}${shows === "screen" ? " screen" : ""} no-video`;
    this.el.dataset.participantId = p.id;
    this.video.autoplay = true;
    this.video.playsInline = true;
    // A screen share has no sound: its participant's audio plays on the camera tile.
    this.video.muted = local || shows === "screen";
    if (!this.video.muted) void useSpeaker(this.video);
    this.video.srcObject = this.#stream;
    this.#name.className = "name";
    this.#flags.className = "flags";
    this.#stats.className = "stats";
    this.#quality.className = "quality";
    this.#quality.hidden = true;
    this.el.append(this.video, this.#name, this.#flags, this.#stats, this.#quality);
    if (!local && shows === "camera") {
      this.#pin.type = "button";
      this.#pin.className = "pin";
      this.#pin.textContent = "Pin";
      this.#pin.setAttribute("aria-pressed", "false");
      this.#pin.onclick = () => this.onPin();
      this.el.append(this.#pin);
    }
    // Screen shares lead the stage; cameras start in the grid (Layout may stage one).
    if (shows === "screen") page.stage.prepend(this.el);
    else page.grid.append(this.el);
  }

  update(p: ParticipantInfo): void {
    const screen = this.shows === "screen";
    this.#name.textContent = screen ? (this.local ? "Your screen" : `${p.name}'s screen`) : this.local ? `${p.name} (you)` : p.name;
    this.#pin.ariaLabel = `Pin ${p.name}`;
    this.el.dataset.initial = p.name.slice(0, 1).toUpperCase();
    const mine = p.tracks.filter((t) => (sourceOf(t) === "screen") === screen);
    this.#flags.replaceChildren(
      ...mine.filter((t) => t.muted).map((t) => Object.assign(document.createElement("span"), { textContent: t.kind === "audio" ? "mic off" : screen ? "paused" : "camera off" })),
    );
    const videoMuted = mine.some((t) => t.kind === "video" && t.muted);
    const hasVideo = this.#stream.getVideoTracks().length > 0;
    this.el.classList.toggle("no-video", videoMuted || !hasVideo);
  }

  /** Shows our own camera (and carries our mic, muted here); again after a device switch. */
  setStream(stream: MediaStream): void {
    for (const t of this.#stream.getTracks()) this.#stream.removeTrack(t);
    for (const t of stream.getTracks()) this.#stream.addTrack(t);
    this.el.classList.toggle("no-video", stream.getVideoTracks().length === 0);
  }

  addTrack(track: MediaStreamTrack, mid: string): void {
    if (this.#byMid.get(mid) === track) return;
    // One track of each kind: a new one (another m-line, or a new connection after a move) replaces the old.
    for (const [m, t] of [...this.#byMid]) {
      if (m === mid || t.kind === track.kind) {
        this.#byMid.delete(m);
        this.#stream.removeTrack(t);
      }
    }
    this.#byMid.set(mid, track);
    this.#stream.addTrack(track);
    if (track.kind === "video") {
      this.el.classList.remove("no-video");
      this.video.requestVideoFrameCallback?.(() => {
        remoteFrameShown();
        // Each newly received video track's first frame on screen (after a media restart too).
        if (this.#byMid.get(mid) === track) mark(`frame from ${this.el.dataset.participantId}`);
      });
    }
    this.video.play().catch(() => showNotice("Click anywhere to hear the others."));
  }

  removeTrack(mid: string): void {
    const track = this.#byMid.get(mid);
    if (!track) return;
    this.#byMid.delete(mid);
    this.#stream.removeTrack(track);
    if (this.#stream.getVideoTracks().length === 0) this.el.classList.add("no-video");
  }

  /** Takes `track` off the tile if it is still showing it. */
  dropTrack(track: MediaStreamTrack): void {
    for (const [mid, t] of this.#byMid) if (t === track) return this.removeTrack(mid);
  }

  /** The video's rendered size in device pixels; 0×0 when it is not shown. */
  renderedSize(): [width: number, height: number] {
    if (!this.el.isConnected || this.el.classList.contains("no-video")) return [0, 0];
    const r = this.video.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    return [Math.min(MAX_TILE_PX, Math.round(r.width * dpr)), Math.min(MAX_TILE_PX, Math.round(r.height * dpr))];
  }

  /** The detailed figures (shown on demand) and the network quality icon (null: nothing to judge). */
  showStats(s: RemoteStats, quality: Quality | null): void {
    this.#stats.textContent = this.#statsText.of(s);
    this.#quality.hidden = quality === null;
    if (quality === null) return;
    this.#quality.dataset.quality = quality;
    this.#quality.title = this.#quality.ariaLabel = `Network: ${quality}`;
  }

  /** Shown large on the stage (pinned, or the speaker in speaker view), or in the grid. */
  setStaged(staged: boolean, pinned: boolean): void {
    const home = staged ? page.stage : page.grid;
    // Cameras come after the screen shares on the stage.
    if (this.el.parentElement !== home) home.append(this.el);
    this.el.classList.toggle("pinned", pinned);
    this.#pin.setAttribute("aria-pressed", String(pinned));
    this.#pin.textContent = pinned ? "Unpin" : "Pin";
  }

  setSpeaking(speaking: boolean): void {
    this.el.classList.toggle("speaking", speaking);
  }

  remove(): void {
    this.el.remove();
  }
}
