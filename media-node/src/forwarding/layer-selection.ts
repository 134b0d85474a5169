/**
 * Which simulcast layer a subscriber receives (sans-IO, pure).
 *
 * The smallest layer whose resolution covers the subscriber's rendered tile, then stepped down
 * while its bitrate exceeds the subscriber's bandwidth budget; the lowest layer when nothing fits.
 * A hidden tile (0×0, or none) receives nothing. Hysteresis keeps a tile whose size hovers on a
 * layer boundary, or a budget that hovers on a layer's bitrate, from switching back and forth: the
 * current layer is kept while it covers 90 % of the tile (so a tile between 100 % and 111 % of a
 * layer stays on it whichever way it came), and a step up in bitrate needs 15 % budget headroom.
 */
export interface LayerInfo {
  rid: string;
  /** Frame size the layer carries; 0 when not known yet (such a layer covers no tile). */
  width: number;
  height: number;
  /** Measured bitrate in bps (the last measurement while it was arriving); 0 when unknown. */
  bitrate: number;
  /** Packets of it are arriving now. */
  active: boolean;
}

export interface TileSize {
  width: number;
  height: number;
}

export interface LayerChoice {
  /** The layer to forward now (an active one), or null for none. */
  rid: string | null;
  /**
   * The layer this subscriber should get if every layer were being sent: what it asks of the
   * publisher (dynacast), even while that layer is paused. Null when the tile is hidden.
   */
  wanted: string | null;
}

/** Keep the current layer while it covers at least 90 % of the tile. */
export const KEEP_TOLERANCE = 0.9;
/** Step up to a higher-bitrate layer only when it uses at most 85 % of the budget. */
export const UPSWITCH_HEADROOM = 0.85;

/**
 * @param layers the track's layers, lowest quality first
 * @param tile the subscriber's rendered size for this track (device px); undefined or 0×0 = not visible
 * @param budgetBps the subscriber's bandwidth budget for this track (Infinity = unlimited)
 * @param current the rid it receives now (null: none), for hysteresis
 */
export function selectLayer(layers: readonly LayerInfo[], tile: TileSize | undefined, budgetBps: number, current: string | null): LayerChoice {
  if (!tile || tile.width <= 0 || tile.height <= 0 || layers.length === 0) return { rid: null, wanted: null };
  const ci = current === null ? -1 : layers.findIndex((l) => l.rid === current);
  const covers = (l: LayerInfo, factor: number) => l.width > 0 && l.height > 0 && l.width >= tile.width * factor && l.height >= tile.height * factor;
  const need = (i: number) => (i === ci ? KEEP_TOLERANCE : 1);
  let want = layers.findIndex((l, i) => covers(l, need(i)));
  if (want < 0) want = layers.length - 1;
  const fits = (i: number) => layers[i]!.bitrate <= (ci >= 0 && i > ci ? budgetBps * UPSWITCH_HEADROOM : budgetBps);
  while (want > 0 && !fits(want)) want--;
  // Forward the wanted layer if it is arriving, else the nearest one below it, else above it.
  let now = -1;
  for (let i = want; i >= 0 && now < 0; i--) if (layers[i]!.active) now = i;
  for (let i = want + 1; i < layers.length && now < 0; i++) if (layers[i]!.active) now = i;
  return { rid: now < 0 ? null : layers[now]!.rid, wanted: layers[want]!.rid };
}
