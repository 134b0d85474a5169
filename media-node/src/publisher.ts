import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback, type MediaStreamTrack, type RTCDataChannel, type RTCPeerConnection } from "werift";
import { DATA_CHANNEL_LABELS, MEDIA_LIMITS, publishOfferOverLimits, RemoteCandidates, type IceCandidate, type MediaLimits, type NodeResponse, type TrackKind } from "@sfu/shared";
import { PublisherBitrate, rembBitrateFields } from "./forwarding/publisher-bitrate.ts";
import type { Cancel } from "./clock.ts";
import { LimitError } from "./limit-error.ts";
import { log } from "./log.ts";
import type { NodeContext } from "./node-context.ts";
import type { AudioLevelSink, DataSink } from "./participant.ts";
import { Track } from "./track.ts";
import { addRemoteCandidate, answerAsDtlsServer, assertWebRtcSdp, audioLevelExtensionId, createPeerConnection, guardMediaSockets, onDtlsSessionLost, pinPublisherCodec, waitForGatheringComplete, watchTransportSteps } from "./webrtc.ts";

const GATHER_TIMEOUT_MS = 3000;
const REMB_INTERVAL_MS = 1000;
/** The most a publisher is asked to send: room for three simulcast layers of camera video plus audio. */
export const DEFAULT_PUBLISH_MAX_BPS = 3_000_000;
/** A participant's data channel with this much unsent: it reads too slowly, and more is dropped. */
const MAX_DATA_BUFFERED_BYTES = 1024 * 1024;

/** The PeerConnection on which a participant sends its media to the node. */
export class Publisher {
  readonly pc: RTCPeerConnection;
  readonly tracks = new Map<string, Track>();
  private readonly bitrate: PublisherBitrate;
  private readonly ssrcs = new Set<number>();
  private readonly remoteCandidates = new RemoteCandidates();
  /** The app-data channels the browser opened on this PeerConnection: one reliable, one lossy. */
  private readonly channels: { reliable?: RTCDataChannel; lossy?: RTCDataChannel } = {};
  private readonly stopRemb: Cancel;
  private closed = false;

  constructor(
    private readonly owner: { readonly id: string; readonly roomId: string },
    private readonly ctx: NodeContext,
    private readonly audioLevels: AudioLevelSink,
    private readonly data: DataSink,
    maxBps = DEFAULT_PUBLISH_MAX_BPS,
  ) {
    this.pc = createPeerConnection(ctx.net);
    watchTransportSteps(this.pc, "publisher", owner);
    this.bitrate = new PublisherBitrate(maxBps);
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === "failed") this.failed();
    });
    this.stopRemb = ctx.scheduler.every(REMB_INTERVAL_MS, (now) => this.sendRemb(this.bitrate.tick(now)));
    this.pc.onDataChannel.subscribe((channel) => this.adoptChannel(channel));
  }

  /** A data channel the browser opened: app data both ways if it is `_reliable` or `_lossy` (one each), else closed. */
  private adoptChannel(channel: RTCDataChannel): void {
    const kind = channel.label === DATA_CHANNEL_LABELS.reliable ? "reliable" : channel.label === DATA_CHANNEL_LABELS.lossy ? "lossy" : null;
    if (!kind || this.channels[kind] || this.closed) return channel.close();
    this.channels[kind] = channel;
    // The I/O edge of app data: the one clock read per message.
    channel.onMessage.subscribe((message) => this.data.dataReceived(this.owner.id, kind === "reliable", message, this.ctx.scheduler.clock.now()));
  }

  /** Sends an app-data frame on our reliable or lossy channel; false (dropped) when that is not open or backed up. */
  sendData(frame: Uint8Array, reliable: boolean): boolean {
    const channel = reliable ? this.channels.reliable : this.channels.lossy;
    if (!channel || channel.readyState !== "open" || channel.bufferedAmount > MAX_DATA_BUFFERED_BYTES) return false;
    channel.send(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    return true;
  }

  /**
   * Answers the browser's publish offer (first or renegotiated) and returns the tracks it carries.
   * An offer over `limits` is refused before werift sees it: werift makes a transceiver per m-section.
   */
  async negotiate(sdp: string, limits: MediaLimits = MEDIA_LIMITS): Promise<{ answer: NodeResponse<"publish">; added: Track[]; removed: Track[] }> {
    assertWebRtcSdp(sdp, "publish offer");
    const overLimits = publishOfferOverLimits(sdp, limits);
    if (overLimits) throw new LimitError("too-many-tracks", overLimits);
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    const clock = this.ctx.scheduler.clock;
    const seen = new Set<string>();
    const added: Track[] = [];
    for (const transceiver of this.pc.getTransceivers()) {
      const mid = transceiver.mid;
      const sending = transceiver.direction === "recvonly" || transceiver.direction === "sendrecv";
      if (mid === null || !sending) continue;
      seen.add(mid);
      if (this.tracks.has(mid)) {
        transceiver.codecs = [this.tracks.get(mid)!.codec];
        continue;
      }
      const codec = pinPublisherCodec(transceiver);
      const levelId = transceiver.kind === "audio" ? audioLevelExtensionId(transceiver) : undefined;
      const participantId = this.owner.id;
      const levels = levelId === undefined ? undefined : { extensionId: levelId, report: (level: number, now: number) => this.audioLevels.observe(participantId, level, now) };
      const track = new Track(`${participantId}:${mid}`, transceiver.kind as TrackKind, mid, participantId, codec, this.ctx.scheduler, levels);
      this.tracks.set(mid, track);
      added.push(track);
      // werift creates the remote track during setRemoteDescription when the SDP names its SSRC or
      // its simulcast rids (one track per rid, SSRC unknown until the first packet), and later (on
      // the first packet) otherwise: take both.
      const attach = (remote: MediaStreamTrack) => {
        const rid = remote.rid ?? "";
        track.layers.declare(rid);
        let started = false;
        // The I/O edge of the publisher's media: the one clock read per received packet.
        remote.onReceiveRtp.subscribe((rtp) => {
          const now = clock.now();
          if (!started) {
            started = true;
            log("debug", "publisher media started", { track: track.id, rid, ssrc: rtp.header.ssrc, pt: rtp.header.payloadType });
            track.attachSource(transceiver.receiver, rtp.header.ssrc, rid);
            this.ssrcs.add(rtp.header.ssrc);
            // Chrome takes a REMB received in its first seconds as its starting estimate: send one now.
            this.sendRemb(this.bitrate.tick(now));
          }
          this.bitrate.observe(rtp.header.ssrc, rtp.header.sequenceNumber, rtp.payload.length, now);
          track.forward(rtp, rid, now);
        });
      };
      transceiver.receiver.tracks.forEach(attach);
      transceiver.onTrack.subscribe(attach);
    }
    const removed = [...this.tracks.values()].filter((t) => !seen.has(t.mid));
    for (const t of removed) {
      this.tracks.delete(t.mid);
      t.close();
    }
    answerAsDtlsServer(this.pc);
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await waitForGatheringComplete(this.pc, GATHER_TIMEOUT_MS, this.ctx.scheduler);
    guardMediaSockets(this.pc);
    onDtlsSessionLost(this.pc, () => this.failed());
    const tracks = [...this.tracks.values()].map((t) => ({ trackId: t.id, mid: t.mid, kind: t.kind }));
    return { answer: { sdp: this.pc.localDescription!.sdp, tracks }, added, removed };
  }

  /** The PeerConnection's ICE or DTLS is gone for good (not by our own close): the node frees the participant. */
  private failed(): void {
    if (!this.closed) this.ctx.events.emit("connection-failed", { room: this.owner.roomId, participantId: this.owner.id });
  }

  async addCandidate(candidate: IceCandidate): Promise<void> {
    await addRemoteCandidate(this.pc, candidate, this.remoteCandidates);
  }

  private sendRemb(bps: number): void {
    const dtls = this.pc.dtlsTransports[0];
    if (!dtls || dtls.state !== "connected" || this.ssrcs.size === 0) return;
    const ssrcFeedbacks = [...this.ssrcs];
    const remb = new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, ssrcNum: ssrcFeedbacks.length, ssrcFeedbacks, ...rembBitrateFields(bps) });
    dtls.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]).catch(() => undefined);
  }

  /** Closes the PeerConnection and every track it carries; returns those tracks. */
  close(): Track[] {
    if (this.closed) return [];
    this.closed = true;
    this.stopRemb();
    const tracks = [...this.tracks.values()];
    for (const t of tracks) t.close();
    this.tracks.clear();
    void this.pc.close().catch(() => undefined);
    return tracks;
  }
}
