import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RtpPacket,
} from "werift";
import type { SubscribedTrack } from "@sfu/shared";
import { RoomClient } from "./room-client.ts";

/**
 * ICE settings that keep a werift peer on 127.0.0.1 (see notes/werift-probe.md). `lossPercent`
 * drops that share of the media arriving at this peer (werift's debug option takes the share to
 * keep, as the probe found).
 */
function loopbackPeer(lossPercent = 0): RTCPeerConnection {
  return new RTCPeerConnection({
    ...(lossPercent > 0 ? { debug: { inboundPacketLoss: 100 - lossPercent } } : {}),
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 })],
      video: [new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }] })],
    },
  });
}

async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return;
  await pc.iceGatheringStateChange.watch((s) => s === "complete");
}

export interface ReceivedPacket {
  trackId: string;
  participantId: string;
  kind: "audio" | "video";
  packet: RtpPacket;
}

/**
 * A headless participant: a werift publisher and subscriber PeerConnection driven through the room.
 * Like the browser app, it starts its media over on `media-failed`: new PeerConnections, answering
 * the room's fresh subscriber offer and publishing again if it had published.
 */
export class WeriftPeer {
  publisherPc = loopbackPeer();
  subscriberPc: RTCPeerConnection;
  readonly received: ReceivedPacket[] = [];
  readonly subscribed = new Map<string, SubscribedTrack>();
  readonly audio = new MediaStreamTrack({ kind: "audio" });
  readonly video = new MediaStreamTrack({ kind: "video" });
  participantId = "";
  /** How many times the room told it `media-failed` and it started its media over. */
  mediaRestarts = 0;
  private published = false;

  private constructor(
    readonly client: RoomClient,
    private readonly subscriberLossPercent = 0,
  ) {
    this.subscriberPc = this.newSubscriberPc();
    client.onMessage((msg) => {
      // Handled before the subscriber offer that follows it, which then lands on the new PeerConnection.
      if (msg.type === "error" && msg.code === "media-failed") this.restartMedia();
      if (msg.type === "subscriber-offer") this.answer(msg.sdp, msg.tracks).catch((e) => { if (process.env.DEBUG_PEER) console.error("answer failed", e); }); // closed meanwhile
    });
  }

  private newSubscriberPc(): RTCPeerConnection {
    const pc = loopbackPeer(this.subscriberLossPercent);
    pc.onTrack.subscribe((track) => {
      const mid = pc.getTransceivers().find((t) => t.receiver.tracks.includes(track))?.mid;
      track.onReceiveRtp.subscribe((packet) => {
        const info = mid ? this.subscribed.get(mid) : undefined;
        if (info) this.received.push({ trackId: info.trackId, participantId: info.participantId, kind: info.kind, packet });
      });
    });
    return pc;
  }

  private restartMedia(): void {
    this.mediaRestarts++;
    void this.subscriberPc.close().catch(() => undefined);
    this.subscriberPc = this.newSubscriberPc();
    if (!this.published) return;
    void this.publisherPc.close().catch(() => undefined);
    this.publisherPc = loopbackPeer();
    this.published = false;
    this.publish().catch((e) => { if (process.env.DEBUG_PEER) console.error("republish failed", e); });
  }

  static async join(baseUrl: string, room: string, name: string, opts: { subscriberLossPercent?: number } = {}): Promise<WeriftPeer> {
    const client = await RoomClient.connect(baseUrl, room);
    const peer = new WeriftPeer(client, opts.subscriberLossPercent);
    peer.participantId = (await client.join(name)).participantId;
    return peer;
  }

  async publish(): Promise<void> {
    this.published = true;
    this.publisherPc.addTransceiver(this.audio, { direction: "sendonly" });
    this.publisherPc.addTransceiver(this.video, { direction: "sendonly" });
    await this.publisherPc.setLocalDescription(await this.publisherPc.createOffer());
    await gathered(this.publisherPc);
    const answer = this.client.next("publish-answer");
    this.client.send({ type: "publish", sdp: this.publisherPc.localDescription!.sdp });
    await this.publisherPc.setRemoteDescription({ type: "answer", sdp: (await answer).sdp });
    await this.publisherPc.connectionStateChange.watch((s) => s === "connected", 10_000);
  }

  private async answer(sdp: string, tracks: SubscribedTrack[]): Promise<void> {
    const pc = this.subscriberPc;
    for (const t of tracks) this.subscribed.set(t.mid, t);
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    this.client.send({ type: "subscriber-answer", sdp: pc.localDescription!.sdp });
  }

  async subscriberConnected(timeoutMs = 10_000): Promise<void> {
    if (this.subscriberPc.connectionState === "connected") return;
    await this.subscriberPc.connectionStateChange.watch((s) => s === "connected", timeoutMs);
  }

  async close(): Promise<void> {
    this.client.close();
    await Promise.allSettled([this.publisherPc.close(), this.subscriberPc.close()]);
  }
}
