import type { RTCRtpCodecParameters, RTCRtpReceiver, RtpPacket } from "werift";
import type { TrackKind } from "@sfu/shared";
import type { Scheduler } from "./clock.ts";
import type { OutStream } from "./egress/rtp-egress.ts";
import { selectLayer } from "./forwarding/layer-selection.ts";
import type { SequenceRewriter } from "./forwarding/sequence-rewriter.ts";
import { DownstreamLayers, TrackLayers, UNREPORTED_TILE, type LayeredDownstream } from "./layers.ts";
import { log } from "./log.ts";

/**
 * One subscriber's copy of a track: the outgoing stream it goes out on and that stream's rewriter.
 * Both belong to the m-line, not to the track, so that when the m-line is reused for another track
 * the browser sees one continuous stream.
 */
export class Downstream {
  /** Which simulcast layer this subscriber receives and why (Track.forward decides which packets reach send). */
  readonly layers = new DownstreamLayers();

  constructor(
    readonly track: Track,
    readonly stream: OutStream,
    readonly rewriter: SequenceRewriter,
  ) {}

  /**
   * The publisher's header extensions are not forwarded: their ids mean nothing on the subscriber's
   * m-line, and the egress writes its own (transport-wide sequence numbers).
   */
  send(rtp: RtpPacket, now: number): void {
    const pos = this.rewriter.rewrite(rtp.header, now);
    if (!pos) return;
    this.stream.send(rtp.payload, rtp.header.marker, pos.sequenceNumber, pos.timestamp, now);
  }

  close(): void {
    this.track.removeDownstream(this);
  }
}

/**
 * A track published by one participant, fanned out to every Downstream of it. A video track has
 * one or more layers (simulcast); each Downstream gets the packets of the layer chosen for it,
 * switching only at a keyframe of the new layer.
 */
export class Track {
  private readonly downstreams = new Set<Downstream>();
  readonly layers: TrackLayers;
  closed = false;
  /** Muted by the room (an admin): packets are dropped here, whatever the publisher sends. */
  private mutedByRoom = false;
  packetsIn = 0;

  constructor(
    readonly id: string,
    readonly kind: TrackKind,
    readonly mid: string,
    readonly publisherId: string,
    readonly codec: RTCRtpCodecParameters,
    scheduler: Scheduler,
    /** For audio: where the packets' RFC 6464 levels go, and the extension id that carries them. */
    private readonly audioLevels?: { extensionId: number; report: (level: number, now: number) => void },
  ) {
    this.layers = new TrackLayers(id, codec.mimeType, scheduler);
  }

  /** The publisher's media for one layer (rid; "" without simulcast) started arriving: its SSRC is known from the first packet. */
  attachSource(receiver: RTCRtpReceiver, ssrc: number, rid = ""): void {
    this.layers.attach(rid, receiver, ssrc);
  }

  /** One packet of the publisher's layer `rid`, received at `now`. */
  forward(rtp: RtpPacket, rid: string, now: number): void {
    this.packetsIn++;
    if (this.mutedByRoom) return;
    if (this.audioLevels) {
      for (const ext of rtp.header.extensions) {
        if (ext.id === this.audioLevels.extensionId && ext.payload.length > 0) this.audioLevels.report(ext.payload[0]! & 0x7f, now);
      }
    }
    if (this.kind !== "video") {
      for (const d of this.downstreams) d.send(rtp, now);
      return;
    }
    const seen = this.layers.observe(rid, rtp.payload, now);
    // A layer that starts (or resumes after a pause) may be what someone waits for.
    if (seen.resumed) for (const d of this.downstreams) this.reselect(d, now);
    const keyframe = () => seen.keyframe;
    for (const d of this.downstreams) {
      const verdict = d.layers.accept(rid, keyframe);
      if (verdict === "drop") continue;
      // First packet of a new layer (or of the same one after a pause): the subscriber's stream continues seamlessly.
      if (verdict === "switch") d.rewriter.restart();
      d.send(rtp, now);
    }
  }

  /** Re-runs layer selection for one subscriber; a new target layer gets a keyframe request. */
  reselect(d: LayeredDownstream, now: number): void {
    if (this.kind !== "video" || this.closed) return;
    const infos = this.layers.infos(now);
    const choice = selectLayer(infos, d.layers.tile ?? UNREPORTED_TILE, d.layers.budget, d.layers.current);
    d.layers.wanted = choice.wanted;
    const previous = d.layers.target;
    if (d.layers.setTarget(choice.rid) && d.layers.connected) this.layers.requestKeyframe(choice.rid!, now);
    if (previous !== choice.rid) log("debug", "layer target", { track: this.id, from: previous, to: choice.rid, wanted: choice.wanted, tile: d.layers.tile, layers: infos });
  }

  /**
   * Periodic: re-selects every subscriber's layer (layers start and stop, bitrates move), repeats
   * keyframe requests for switches still waiting, and returns the layers the publisher should send
   * when that changed (dynacast).
   */
  tick(now: number): string[] | undefined {
    if (this.kind !== "video" || this.closed) return undefined;
    for (const d of this.downstreams) {
      this.reselect(d, now);
      if (d.layers.switching && d.layers.connected) this.layers.requestKeyframe(d.layers.target!, now);
    }
    return this.layers.dynacast([...this.downstreams].map((d) => d.layers), now);
  }

  setMuted(muted: boolean, now: number): void {
    const resumed = this.mutedByRoom && !muted;
    this.mutedByRoom = muted;
    // Subscribers cannot decode the resumed video until the next keyframe.
    if (resumed) this.requestKeyframe(now);
  }

  addDownstream(d: Downstream, now: number): void {
    this.downstreams.add(d);
    this.reselect(d, now);
  }

  removeDownstream(d: Downstream): void {
    this.downstreams.delete(d);
  }

  get subscriberCount(): number {
    return this.downstreams.size;
  }

  /**
   * A subscriber needs a keyframe (it joined, or lost one): of the layer it is moving to or
   * receives. Without `d`, every layer someone receives. Requests to the publisher are throttled per layer.
   */
  requestKeyframe(now: number, d?: Downstream): void {
    if (this.kind !== "video" || this.closed) return;
    const rids = new Set<string>();
    for (const x of d ? [d] : this.downstreams) if (x.layers.target !== null) rids.add(x.layers.target);
    for (const rid of rids) this.layers.requestKeyframe(rid, now);
  }

  /** Stops forwarding and closes every subscriber's copy of the track. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.layers.close();
    for (const d of [...this.downstreams]) d.close();
  }
}
