/**
 * Per-subscriber simulcast layer switching (sans-IO, pure).
 *
 * A subscriber receives one layer (`current`) and may be asked to move to another (`target`). The
 * move happens on the first packet of a keyframe of the target layer; from that packet on, packets
 * of the old layer are dropped. Until then the old layer keeps flowing, so the picture never
 * freezes for a switch and the decoder never sees a frame that refers to one of another layer.
 * Stopping (target null: the tile is hidden) takes effect at once.
 */
export type LayerVerdict = "forward" | "switch" | "drop";

export class LayerSwitcher {
  private cur: string | null = null;
  private tgt: string | null = null;

  get current(): string | null {
    return this.cur;
  }

  get target(): string | null {
    return this.tgt;
  }

  /** Waiting for a keyframe of the target layer. */
  get switching(): boolean {
    return this.tgt !== null && this.tgt !== this.cur;
  }

  /** Sets the layer to move to; true when a keyframe of it is now needed. */
  setTarget(rid: string | null): boolean {
    const changed = rid !== this.tgt;
    this.tgt = rid;
    if (rid === null) this.cur = null;
    return changed && this.switching;
  }

  /**
   * What to do with one packet of layer `rid`: forward it, forward it as the first of a new layer
   * ("switch": the stream's sequence and timestamps must be re-anchored), or drop it.
   * `keyframe` is asked only when it matters.
   */
  accept(rid: string, keyframe: () => boolean): LayerVerdict {
    if (this.tgt === null) return "drop";
    if (rid === this.tgt && this.tgt !== this.cur) {
      if (!keyframe()) return "drop";
      this.cur = this.tgt;
      return "switch";
    }
    return rid === this.cur ? "forward" : "drop";
  }
}
