import type { RTCRtpReceiver } from "werift";
import type { TrackPreference } from "@sfu/shared";
import type { Cancel, Scheduler } from "./clock.ts";
import { BitrateMeter } from "./forwarding/bitrate.ts";
import { DemandDebouncer, layerDemand, type LayerUse } from "./forwarding/dynacast.ts";
import { isKeyframeStart, vp8KeyframeSize } from "./forwarding/keyframe.ts";
import { KeyframeThrottle } from "./forwarding/keyframe-throttle.ts";
import type { LayerInfo, TileSize } from "./forwarding/layer-selection.ts";
import { LayerSwitcher } from "./forwarding/layer-switcher.ts";
import { log } from "./log.ts";

/**
 * Simulcast state of the media node: the layers of a published video track (one per rid; a track
 * sent without simulcast has one layer, rid ""), and per subscriber the layer it receives, its tile
 * size and its bandwidth budget. The decisions themselves are the pure functions in forwarding/.
 */

const KEYFRAME_INTERVAL_MS = 500;
/** A layer is active while its packets keep arriving (a layer the publisher paused, or its encoder dropped for bandwidth, is not). */
export const LAYER_TIMEOUT_MS = 1500;
/** A layer nobody needs is paused at the publisher after this long (dynacast), so demand that flickers does not flap it. */
export const DYNACAST_HOLD_MS = 3000;
/**
 * The tile assumed for a subscriber that has not reported one for a track (a client without tile
 * reports, such as a test peer): it gets the best layer its budget allows, as before simulcast.
 */
export const UNREPORTED_TILE: TileSize = { width: 1920, height: 1080 };

export class LayerSource {
  ssrc: number | undefined;
  receiver: RTCRtpReceiver | undefined;
  width = 0;
  height = 0;
  lastPacketAt = Number.NEGATIVE_INFINITY;
  /** The first packet of the current unbroken run (the layer's first, or the first after a pause). */
  arrivingSince = Number.NEGATIVE_INFINITY;
  /**
   * The layer's rate, measured over a whole meter window of one unbroken run and ending at its
   * latest packet; a paused layer keeps it for selection (see `measure`).
   */
  bitrate = 0;
  readonly meter = new BitrateMeter();
  readonly keyframes = new KeyframeThrottle(KEYFRAME_INTERVAL_MS);
  /** Cancels the scheduled send of a suppressed keyframe request. */
  pendingPli: Cancel | undefined;

  constructor(readonly rid: string) {}

  active(now: number): boolean {
    return now - this.lastPacketAt < LAYER_TIMEOUT_MS;
  }

  /**
   * Takes a new figure for `bitrate` when one can be had. Not from a window that reaches past the
   * latest packet: for LAYER_TIMEOUT_MS after the publisher pauses a layer it still counts as
   * active, and the meter's figure falls toward 0 meanwhile, which made the paused upper layer look
   * affordable to a subscriber on a narrow link (up it went, and down again). Nor from a window
   * that starts before the run did (a resumed layer ramping up).
   */
  measure(now: number): void {
    if (this.active(now) && this.lastPacketAt - this.arrivingSince >= this.meter.windowMs) this.bitrate = this.meter.bps(this.lastPacketAt);
  }
}

/** One subscriber's layer state for one track (the switcher plus what selection needs). */
export class DownstreamLayers extends LayerSwitcher {
  /** Rendered size reported by the subscriber; undefined until it reports one. */
  tile: TileSize | undefined;
  /** This track's share of the subscriber's bandwidth budget, bps. */
  budget = Number.POSITIVE_INFINITY;
  /** The layer selection would pick if every layer were sent (what dynacast asks for). */
  wanted: string | null = null;
  /**
   * The subscriber's PeerConnection can carry media. Until it is, no keyframe is asked for on its
   * behalf: one sent before would be lost to it, and the per-layer throttle would then hold back
   * the request made when it connects (up to 500 ms more before a new joiner's first frame).
   */
  connected = true;
}

export interface PacketSeen {
  keyframe: boolean;
  /** The layer's first packet, or the first after a pause. */
  resumed: boolean;
}

/** The layers of one published video track. */
export class TrackLayers {
  /** Lowest quality first: the order the publisher declared them (a=rid), re-sorted by size once sizes are known. */
  private sources: LayerSource[] = [];
  private readonly bySrc = new Map<string, LayerSource>();
  private readonly demand = new DemandDebouncer(DYNACAST_HOLD_MS);
  private closed = false;

  constructor(
    private readonly trackId: string,
    private readonly mimeType: string,
    private readonly scheduler: Scheduler,
  ) {}

  /** A layer the publisher announced (or whose packets arrived); created once per rid. */
  declare(rid: string): LayerSource {
    let s = this.bySrc.get(rid);
    if (!s) {
      s = new LayerSource(rid);
      this.bySrc.set(rid, s);
      this.sources.push(s);
    }
    return s;
  }

  get rids(): string[] {
    return this.sources.map((s) => s.rid);
  }

  get simulcast(): boolean {
    return this.sources.length > 1;
  }

  attach(rid: string, receiver: RTCRtpReceiver, ssrc: number): void {
    const s = this.declare(rid);
    s.receiver = receiver;
    s.ssrc = ssrc;
  }

  /** Bookkeeping for one arriving packet of layer `rid`: bitrate, activity, keyframe and frame size. */
  observe(rid: string, payload: Uint8Array, now: number): PacketSeen {
    const s = this.bySrc.get(rid) ?? this.declare(rid);
    const resumed = !s.active(now);
    if (resumed) s.arrivingSince = now;
    s.lastPacketAt = now;
    s.meter.add(payload.length + 12, now);
    const keyframe = isKeyframeStart(this.mimeType, payload);
    if (keyframe) {
      const size = this.mimeType.toLowerCase() === "video/vp8" ? vp8KeyframeSize(payload) : undefined;
      if (size && (size.width !== s.width || size.height !== s.height)) {
        s.width = size.width;
        s.height = size.height;
        log("debug", "simulcast layer size", { track: this.trackId, rid, ...size });
        if (this.sources.every((x) => x.width > 0)) this.sources = [...this.sources].sort((a, b) => a.width * a.height - b.width * b.height);
      }
    }
    return { keyframe, resumed };
  }

  /** What layer selection sees now. */
  infos(now: number): LayerInfo[] {
    return this.sources.map((s) => {
      s.measure(now);
      return { rid: s.rid, width: s.width, height: s.height, bitrate: s.bitrate, active: s.active(now) };
    });
  }

  /** Asks the publisher for a keyframe of one layer; throttled per layer, a suppressed request is sent when due. */
  requestKeyframe(rid: string, now: number): void {
    const s = this.bySrc.get(rid);
    if (!s || this.closed) return;
    if (s.keyframes.request(now)) return sendPli(s);
    if (s.pendingPli) return;
    s.pendingPli = this.scheduler.after(s.keyframes.nextDueIn(now) ?? KEYFRAME_INTERVAL_MS, (at) => {
      s.pendingPli = undefined;
      if (!this.closed && s.keyframes.due(at)) sendPli(s);
    });
  }

  /** Dynacast: the rids the publisher should send, when that changed (simulcast tracks only). */
  dynacast(uses: Iterable<LayerUse>, now: number): string[] | undefined {
    if (!this.simulcast) return undefined;
    const rids = this.rids;
    return this.demand.update(rids, layerDemand(rids, uses), now);
  }

  close(): void {
    this.closed = true;
    for (const s of this.sources) s.pendingPli?.();
  }
}

function sendPli(s: LayerSource): void {
  if (!s.receiver || s.ssrc === undefined) return;
  s.receiver.sendRtcpPLI(s.ssrc).catch(() => undefined);
}

/** What the subscriber-side helpers need of a Downstream. */
export interface LayeredDownstream {
  readonly layers: DownstreamLayers;
  readonly track: { readonly id: string; readonly kind: string; reselect(d: LayeredDownstream, now: number): void };
}

/**
 * Splits a subscriber's bandwidth budget evenly across the video tracks it shows (a hidden tile
 * needs none) and re-runs layer selection for each.
 */
export function shareBudget(downstreams: Iterable<LayeredDownstream>, totalBps: number, now: number): void {
  const video = [...downstreams].filter((d) => d.track.kind === "video");
  const visible = video.filter((d) => !d.layers.tile || (d.layers.tile.width > 0 && d.layers.tile.height > 0)).length;
  const share = totalBps / Math.max(1, visible);
  for (const d of video) {
    d.layers.budget = share;
    d.track.reselect(d, now);
  }
}

/** Records a subscriber's reported tile sizes (tracks it does not receive are ignored). */
export function applyPreferences(downstreams: ReadonlyMap<string, LayeredDownstream>, prefs: readonly TrackPreference[]): void {
  for (const p of prefs) {
    const d = downstreams.get(p.trackId);
    if (d) d.layers.tile = { width: p.width, height: p.height };
  }
}
