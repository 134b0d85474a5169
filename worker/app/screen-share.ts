/**
 * Our screen share: a second video track on the publisher PeerConnection, sent in two simulcast
 * layers (the node picks one per viewer, as for cameras) with content hint "detail" (the encoder
 * keeps text sharp and drops frame rate first). Stopping it (our button, or the browser's own
 * "stop sharing" bar, which ends the track) sets its transceiver inactive: the next offer takes it
 * off the node, and a later share reuses the m-section.
 */
import { sendLayers } from "./local-media.ts";

const SCREEN_LAYERS: RTCRtpEncodingParameters[] = [
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000, maxFramerate: 15 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 2_000_000, maxFramerate: 15 },
];

export class ScreenShare {
  /** What we share now; null when not sharing. */
  stream: MediaStream | null = null;
  #transceiver: RTCRtpTransceiver | null = null;
  /** The share ended from outside the app (the browser's "stop sharing" bar, the window closed). */
  onEnded: () => void = () => {};

  static get supported(): boolean {
    return typeof navigator.mediaDevices?.getDisplayMedia === "function";
  }

  get sharing(): boolean {
    return this.stream !== null;
  }

  /** Asks the user what to share (throws NotAllowedError when they cancel). */
  async start(): Promise<MediaStream> {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    const track = stream.getVideoTracks()[0];
    if (!track) throw new Error("the browser shared no video");
    track.contentHint = "detail";
    track.addEventListener("ended", () => {
      if (this.stream === stream) this.onEnded();
    });
    this.stream = stream;
    return stream;
  }

  stop(): void {
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }

  /**
   * Brings the publisher's screen m-section in line with whether we share: added (or its old
   * transceiver reused) when sharing, inactive and empty when not. True when the offer must change.
   */
  async applyTo(pc: RTCPeerConnection): Promise<boolean> {
    const track = this.stream?.getVideoTracks()[0] ?? null;
    const transceiver = this.#transceiver && pc.getTransceivers().includes(this.#transceiver) ? this.#transceiver : null;
    if (!track) {
      if (!transceiver || transceiver.direction === "inactive") return false;
      await transceiver.sender.replaceTrack(null);
      transceiver.direction = "inactive";
      return true;
    }
    if (transceiver) {
      await transceiver.sender.replaceTrack(track);
      // A new share starts with every layer on (the last one may have ended with some paused).
      await sendLayers(transceiver.sender, null);
      if (transceiver.direction === "sendonly") return false;
      transceiver.direction = "sendonly";
      return true;
    }
    const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [this.stream!] };
    try {
      this.#transceiver = pc.addTransceiver(track, { ...init, sendEncodings: SCREEN_LAYERS });
    } catch {
      this.#transceiver = pc.addTransceiver(track, init);
    }
    return true;
  }

  /** The mids carrying our share in the publisher's current offer (for the room: which track is the screen). */
  mids(pc: RTCPeerConnection): string[] {
    const t = this.#transceiver;
    return t && this.stream && t.mid !== null && pc.getTransceivers().includes(t) ? [t.mid] : [];
  }

  /** Dynacast for the share: keep sending only the layers someone receives. */
  async setLayers(rids: string[]): Promise<void> {
    if (this.#transceiver) await sendLayers(this.#transceiver.sender, rids);
  }

  /** The publisher it was on is gone (a media restart makes a new one). */
  dropSender(): void {
    this.#transceiver = null;
  }
}
