/**
 * Which camera tiles are shown large (on the stage, beside any screen shares) and which stay in the
 * grid: the pinned one; else, in speaker view, whoever of the others spoke last. Screen shares are
 * always on the stage (session.ts puts them there).
 */
import { page } from "./page.ts";
import type { Tile } from "./tile.ts";

export type View = "grid" | "speaker";

export interface LayoutHost {
  /** Camera tiles by participant id. */
  tiles(): ReadonlyMap<string, Tile>;
  selfId(): string;
}

export class Layout {
  view: View = "grid";
  #pinned: string | null = null;
  /** The other participant who spoke last (our own voice does not put us on our own stage). */
  #speaker: string | null = null;

  constructor(private readonly host: LayoutHost) {}

  get pinned(): string | null {
    return this.#pinned;
  }

  /** Pins a participant's tile (or unpins it if it was pinned). */
  togglePin(id: string): void {
    this.#pinned = this.#pinned === id ? null : id;
    this.apply();
  }

  setView(view: View): void {
    this.view = view;
    page.viewToggle.setAttribute("aria-pressed", String(view === "speaker"));
    page.viewToggle.textContent = view === "speaker" ? "Grid view" : "Speaker view";
    this.apply();
  }

  speaking(id: string | null): void {
    if (id !== null && id !== this.host.selfId()) this.#speaker = id;
    this.apply();
  }

  /** A participant left. */
  forget(id: string): void {
    if (this.#pinned === id) this.#pinned = null;
    if (this.#speaker === id) this.#speaker = null;
    this.apply();
  }

  apply(): void {
    const tiles = this.host.tiles();
    const others = [...tiles.keys()].filter((id) => id !== this.host.selfId());
    const staged = this.#pinned ?? (this.view === "speaker" ? (this.#speaker ?? others[0] ?? null) : null);
    for (const [id, tile] of tiles) tile.setStaged(id === staged, id === this.#pinned);
    document.body.classList.toggle("staged", page.stage.childElementCount > 0);
  }
}
