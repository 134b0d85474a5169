import { RTCRtpCodecParameters, type RTCPeerConnection } from "werift";
import { isForwardableCandidate, type IceCandidate, SubscribedTrack, SubscriberAnswerResponse, SubscriberOfferResponse } from "@sfu/shared";
import { planSubscriptions } from "./forwarding/subscription-plan.ts";
import { Downstream, type Track } from "./track.ts";
import { assertWebRtcSdp, createPeerConnection, waitForGatheringComplete, type RtcNetwork } from "./webrtc.ts";

const GATHER_TIMEOUT_MS = 3000;
/** An offer unanswered for this long is abandoned, so a lost answer cannot wedge the subscriber. */
const OFFER_STALE_MS = 15_000;

export class NegotiationError extends Error {}

/**
 * The PeerConnection on which the node sends a participant everyone else's media. The node is the
 * offerer; one negotiation is in flight at a time, and a change during it is folded into the next.
 */
export class Subscriber {
  readonly pc: RTCPeerConnection;
  private readonly downstreams = new Map<string, Downstream>();
  private offeredAt: number | undefined;
  private dirty = false;

  constructor(net: RtcNetwork, onFailed: () => void) {
    this.pc = createPeerConnection(net);
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === "failed") onFailed();
      if (state === "connected") for (const d of this.downstreams.values()) d.track.requestKeyframe(Date.now());
    });
  }

  /** Brings the subscription to exactly `tracks` and returns an offer if anything must be negotiated. */
  async offer(tracks: readonly Track[], now: number): Promise<SubscriberOfferResponse> {
    if (this.offeredAt !== undefined && now - this.offeredAt < OFFER_STALE_MS) {
      this.dirty = true;
      return { status: "pending" };
    }
    const changed = this.sync(tracks);
    if (!changed && this.offeredAt === undefined && this.pc.signalingState === "stable") return { status: "unchanged" };
    if (this.pc.getTransceivers().length === 0) return { status: "unchanged" };
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await waitForGatheringComplete(this.pc, GATHER_TIMEOUT_MS);
    this.offeredAt = now;
    this.dirty = false;
    return { status: "offer", sdp: this.pc.localDescription!.sdp, tracks: this.mapping() };
  }

  async answer(sdp: string, tracks: readonly Track[], now: number): Promise<SubscriberAnswerResponse> {
    if (this.offeredAt === undefined) throw new NegotiationError("no subscriber offer is outstanding");
    try {
      assertWebRtcSdp(sdp, "subscriber answer");
      await this.pc.setRemoteDescription({ type: "answer", sdp });
    } catch (err) {
      throw new NegotiationError(`subscriber answer rejected: ${(err as Error).message}`);
    }
    this.offeredAt = undefined;
    if (!this.dirty) return {};
    const next = await this.offer(tracks, now);
    return next.status === "offer" ? { next } : {};
  }

  async addCandidate(candidate: IceCandidate): Promise<void> {
    if (!isForwardableCandidate(candidate.candidate)) return;
    await this.pc.addIceCandidate({ candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? undefined, sdpMLineIndex: candidate.sdpMLineIndex ?? undefined });
  }

  close(): void {
    for (const d of this.downstreams.values()) d.close();
    this.downstreams.clear();
    void this.pc.close().catch(() => undefined);
  }

  private sync(tracks: readonly Track[]): boolean {
    const byId = new Map(tracks.map((t) => [t.id, t]));
    const plan = planSubscriptions(byId.keys(), this.downstreams.keys());
    for (const id of plan.remove) {
      const d = this.downstreams.get(id)!;
      this.downstreams.delete(id);
      d.close();
      const transceiver = this.pc.getTransceivers().find((t) => t.sender === d.sender);
      // The m-line stays, inactive: reusing it for another track would change its msid under the browser.
      transceiver?.setDirection("inactive");
    }
    for (const id of plan.add) {
      const track = byId.get(id)!;
      const transceiver = this.pc.addTransceiver(track.kind, { direction: "sendonly" });
      transceiver.codecs = [new RTCRtpCodecParameters({ ...track.codec, mimeType: track.codec.mimeType, clockRate: track.codec.clockRate })];
      const d = new Downstream(track, transceiver.sender);
      this.downstreams.set(id, d);
      track.addDownstream(d);
      if (this.pc.connectionState === "connected") track.requestKeyframe(Date.now());
    }
    return plan.add.length > 0 || plan.remove.length > 0;
  }

  private mapping(): SubscribedTrack[] {
    const out: SubscribedTrack[] = [];
    for (const [trackId, d] of this.downstreams) {
      const transceiver = this.pc.getTransceivers().find((t) => t.sender === d.sender);
      if (transceiver?.mid) out.push({ mid: transceiver.mid, trackId, participantId: d.track.publisherId, kind: d.track.kind });
    }
    return out;
  }
}
