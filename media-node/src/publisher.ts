import type { MediaStreamTrack, RTCPeerConnection } from "werift";
import type { IceCandidate, PublishResponse, TrackKind } from "@sfu/shared";
import { log } from "./log.ts";
import { Track } from "./track.ts";
import { addRemoteCandidate, assertWebRtcSdp, audioLevelExtensionId, createPeerConnection, dropDatagramsFromStrangers, pinPublisherCodec, waitForGatheringComplete, type RtcNetwork } from "./webrtc.ts";

const GATHER_TIMEOUT_MS = 3000;

/** The PeerConnection on which a participant sends its media to the node. */
export class Publisher {
  readonly pc: RTCPeerConnection;
  readonly tracks = new Map<string, Track>();

  constructor(
    private readonly participantId: string,
    net: RtcNetwork,
    private readonly onFailed: () => void,
    private readonly onAudioLevel: (level: number, now: number) => void = () => {},
  ) {
    this.pc = createPeerConnection(net);
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === "failed") this.onFailed();
    });
  }

  /** Answers the browser's publish offer (first or renegotiated) and returns the tracks it carries. */
  async negotiate(sdp: string): Promise<{ answer: PublishResponse; added: Track[]; removed: Track[] }> {
    assertWebRtcSdp(sdp, "publish offer");
    await this.pc.setRemoteDescription({ type: "offer", sdp });
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
      const levels = levelId === undefined ? undefined : { extensionId: levelId, report: this.onAudioLevel };
      const track = new Track(`${this.participantId}:${mid}`, transceiver.kind as TrackKind, mid, this.participantId, codec, levels);
      this.tracks.set(mid, track);
      added.push(track);
      // werift creates the remote track during setRemoteDescription when the SDP names its SSRC or
      // its simulcast rids (one track per rid, SSRC unknown until the first packet), and later (on
      // the first packet) otherwise: take both.
      const attach = (remote: MediaStreamTrack) => {
        const rid = remote.rid ?? "";
        track.layers.declare(rid);
        remote.onReceiveRtp.once((first) => {
          log("debug", "publisher media started", { track: track.id, rid, ssrc: first.header.ssrc, pt: first.header.payloadType });
          track.attachSource(transceiver.receiver, first.header.ssrc, rid);
        });
        remote.onReceiveRtp.subscribe((rtp) => track.forward(rtp, rid));
      };
      transceiver.receiver.tracks.forEach(attach);
      transceiver.onTrack.subscribe(attach);
    }
    const removed = [...this.tracks.values()].filter((t) => !seen.has(t.mid));
    for (const t of removed) {
      this.tracks.delete(t.mid);
      t.close();
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await waitForGatheringComplete(this.pc, GATHER_TIMEOUT_MS);
    dropDatagramsFromStrangers(this.pc);
    const tracks = [...this.tracks.values()].map((t) => ({ trackId: t.id, mid: t.mid, kind: t.kind }));
    return { answer: { sdp: this.pc.localDescription!.sdp, tracks }, added, removed };
  }

  async addCandidate(candidate: IceCandidate): Promise<void> {
    await addRemoteCandidate(this.pc, candidate);
  }

  close(): Track[] {
    const tracks = [...this.tracks.values()];
    for (const t of tracks) t.close();
    this.tracks.clear();
    void this.pc.close().catch(() => undefined);
    return tracks;
  }
}
