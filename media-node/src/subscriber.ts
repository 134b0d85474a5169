import type { RTCPeerConnection, RTCRtpTransceiver } from "werift";
import { RemoteCandidates, type IceCandidate, type NodeResponse, type SubscribedTrack, type TrackPreference } from "@sfu/shared";
import { OutStream, RtpEgress } from "./egress/rtp-egress.ts";
import { BandwidthEstimator } from "./forwarding/bandwidth-estimator.ts";
import { SequenceRewriter } from "./forwarding/sequence-rewriter.ts";
import { planSubscriptions } from "./forwarding/subscription-plan.ts";
import { applyPreferences, shareBudget } from "./layers.ts";
import { log } from "./log.ts";
import type { NodeContext } from "./node-context.ts";
import { Downstream, type Track } from "./track.ts";
import {
  addRemoteCandidate,
  assertWebRtcSdp,
  createPeerConnection,
  guardMediaSockets,
  onDtlsSessionLost,
  subscriberCodec,
  transportCcExtensionId,
  waitForGatheringComplete,
  watchTransportSteps,
} from "./webrtc.ts";

const GATHER_TIMEOUT_MS = 3000;
/** An offer unanswered for this long is abandoned, so a lost answer cannot wedge the subscriber. */
const OFFER_STALE_MS = 15_000;

export class NegotiationError extends Error {}

interface Slot {
  transceiver: RTCRtpTransceiver;
  rewriter: SequenceRewriter;
  stream: OutStream;
  downstream?: Downstream;
  /** Stops listening for the browser's keyframe requests on this m-line. */
  stopPlis: () => void;
}

/**
 * The PeerConnection on which the node sends a participant everyone else's media. The node is the
 * offerer; one negotiation is in flight at a time, and a change during it is folded into the next.
 */
export class Subscriber {
  readonly pc: RTCPeerConnection;
  readonly egress: RtpEgress;
  /** What this subscriber's link carries, from transport-wide feedback; it caps the layers it is sent. */
  readonly bandwidth = new BandwidthEstimator();
  private readonly downstreams = new Map<string, Downstream>();
  private readonly remoteCandidates = new RemoteCandidates();
  /**
   * Every m-line the node has offered, with its rewriter. An m-line whose track went away stays
   * sendonly and silent and is reused for the next track of its kind: werift would mark an inactive
   * m-line as rejected (port 0), which browsers refuse when it is the BUNDLE tag, and reuse keeps the
   * SDP from growing with every join and leave.
   */
  private readonly slots: Slot[] = [];
  private offeredAt: number | undefined;
  private dirty = false;
  private budgetBps = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly owner: { readonly id: string; readonly roomId: string },
    private readonly ctx: NodeContext,
  ) {
    this.pc = createPeerConnection(ctx.net, "subscriber");
    this.egress = new RtpEgress(this.pc, ctx.scheduler);
    this.egress.listener = {
      packetSent: (seq, bytes, now) => this.bandwidth.onPacketSent(seq, bytes, now),
      transportFeedback: (results, now) => {
        this.bandwidth.onFeedback(results, now);
        // The estimate moves at most every 500 ms; re-plan layers only when it did.
        if (this.bandwidth.bps !== this.budgetBps) {
          log("debug", "subscriber bandwidth estimate", { bps: this.bandwidth.bps, delivered: Math.round(this.bandwidth.lastDeliveredBps ?? 0), queuingMs: Math.round(this.bandwidth.queuingDelay), loss: this.bandwidth.lastLoss.toFixed(3) });
          this.setBandwidthBudget(this.bandwidth.bps, now);
        }
      },
    };
    watchTransportSteps(this.pc, "subscriber", owner);
    this.pc.connectionStateChange.subscribe((state) => {
      if (this.closed) return;
      if (state === "failed") this.failed();
      if (state !== "connected") return;
      this.egress.start();
      const now = ctx.scheduler.clock.now();
      for (const d of this.downstreams.values()) {
        d.layers.connected = true;
        d.track.requestKeyframe(now, d);
      }
    });
  }

  /** Brings the subscription to exactly `tracks` and returns an offer if anything must be negotiated. */
  async offer(tracks: readonly Track[], now: number): Promise<NodeResponse<"subscriber-offer">> {
    if (this.offeredAt !== undefined && now - this.offeredAt < OFFER_STALE_MS) {
      this.dirty = true;
      return { status: "pending" };
    }
    const changed = this.sync(tracks, now);
    if (!changed && this.offeredAt === undefined && this.pc.signalingState === "stable") return { status: "unchanged" };
    if (this.pc.getTransceivers().length === 0) return { status: "unchanged" };
    // In flight from here on: a request that arrives while this offer is being made waits for the next.
    this.offeredAt = now;
    this.dirty = false;
    log("debug", "subscriber offer making", { room: this.owner.roomId, participantId: this.owner.id });
    try {
      await this.pc.setLocalDescription(await this.pc.createOffer());
      await waitForGatheringComplete(this.pc, GATHER_TIMEOUT_MS, this.ctx.scheduler);
    } catch (err) {
      this.offeredAt = undefined;
      throw err;
    }
    guardMediaSockets(this.pc);
    onDtlsSessionLost(this.pc, () => this.failed());
    log("debug", "subscriber offer made", { room: this.owner.roomId, participantId: this.owner.id });
    return { status: "offer", sdp: this.pc.localDescription!.sdp, tracks: this.mapping() };
  }

  async answer(sdp: string, tracks: readonly Track[], now: number): Promise<NodeResponse<"subscriber-answer">> {
    if (this.offeredAt === undefined) throw new NegotiationError("no subscriber offer is outstanding");
    try {
      assertWebRtcSdp(sdp, "subscriber answer");
      await this.pc.setRemoteDescription({ type: "answer", sdp });
    } catch (err) {
      throw new NegotiationError(`subscriber answer rejected: ${(err as Error).message}`);
    }
    this.offeredAt = undefined;
    for (const slot of this.slots) slot.stream.twccExtensionId = transportCcExtensionId(slot.transceiver);
    if (!this.dirty) return {};
    const next = await this.offer(tracks, now);
    return next.status === "offer" ? { next } : {};
  }

  /** The PeerConnection's ICE or DTLS is gone for good (not by our own close): the node frees the participant. */
  private failed(): void {
    if (!this.closed) this.ctx.events.emit("connection-failed", { room: this.owner.roomId, participantId: this.owner.id });
  }

  async addCandidate(candidate: IceCandidate): Promise<void> {
    await addRemoteCandidate(this.pc, candidate, this.remoteCandidates);
  }

  /**
   * How many bps this subscriber can receive (e.g. a TWCC estimate): shared among the video tracks
   * it shows, each getting the best simulcast layer its share allows. Infinity (the default) = no limit.
   */
  setBandwidthBudget(bps: number, now: number): void {
    this.budgetBps = bps;
    shareBudget(this.downstreams.values(), bps, now);
  }

  /** The browser's rendered tile sizes for the tracks it receives; layer selection follows them. */
  setPreferences(prefs: readonly TrackPreference[], now: number): void {
    applyPreferences(this.downstreams, prefs);
    shareBudget(this.downstreams.values(), this.budgetBps, now);
  }

  /** Closes the PeerConnection, every subscribed copy of a track, and the egress with its timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.downstreams.values()) d.close();
    this.downstreams.clear();
    for (const slot of this.slots) {
      slot.stopPlis();
      slot.stream.close();
    }
    this.egress.close();
    void this.pc.close().catch(() => undefined);
  }

  private sync(tracks: readonly Track[], now: number): boolean {
    const byId = new Map(tracks.map((t) => [t.id, t]));
    const plan = planSubscriptions(byId.keys(), this.downstreams.keys());
    for (const id of plan.remove) {
      const d = this.downstreams.get(id)!;
      this.downstreams.delete(id);
      d.close();
      const slot = this.slots.find((s) => s.downstream === d);
      if (slot) slot.downstream = undefined;
    }
    for (const id of plan.add) {
      const track = byId.get(id)!;
      const slot = this.freeSlot(track);
      slot.transceiver.codecs = [subscriberCodec(track.codec)];
      // One stream id (a=msid) per publisher: the browser plays audio and video of one stream in
      // sync (lip sync), from the sender reports' NTP/RTP mapping.
      slot.transceiver.sender.streamIds = [track.publisherId];
      const d = new Downstream(track, slot.stream, slot.rewriter);
      d.layers.connected = this.pc.connectionState === "connected";
      slot.downstream = d;
      this.downstreams.set(id, d);
      track.addDownstream(d, now);
      if (this.pc.connectionState === "connected") track.requestKeyframe(now);
    }
    const changed = plan.add.length > 0 || plan.remove.length > 0;
    if (changed) shareBudget(this.downstreams.values(), this.budgetBps, now);
    return changed;
  }

  private freeSlot(track: Track): Slot {
    const free = this.slots.find((s) => !s.downstream && s.transceiver.kind === track.kind && s.rewriter.clockRate === track.codec.clockRate);
    if (free) return free;
    const transceiver = this.pc.addTransceiver(track.kind, { direction: "sendonly" });
    const slot: Slot = {
      transceiver,
      rewriter: new SequenceRewriter(track.codec.clockRate),
      stream: new OutStream(this.egress, transceiver.sender),
      // The I/O edge of the browser's keyframe requests: they go to whichever track the m-line carries now.
      stopPlis: () => sub.unSubscribe(),
    };
    const sub = transceiver.sender.onPictureLossIndication.subscribe(() => {
      const d = slot.downstream;
      if (d) d.track.requestKeyframe(this.ctx.scheduler.clock.now(), d);
    });
    this.slots.push(slot);
    return slot;
  }

  private mapping(): SubscribedTrack[] {
    const out: SubscribedTrack[] = [];
    for (const { transceiver, downstream: d } of this.slots) {
      if (d && transceiver.mid) out.push({ mid: transceiver.mid, trackId: d.track.id, participantId: d.track.publisherId, kind: d.track.kind });
    }
    return out;
  }
}
