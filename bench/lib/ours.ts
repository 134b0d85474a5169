/**
 * Load-generator participants in our system, signalled through the room like a browser
 * (RoomClient over the worker's WebSocket): a publisher sends audio + video on its publisher
 * PeerConnection; every participant answers the node's subscriber offers with a light or full
 * receiver (see receive.ts).
 */
import { MediaStreamTrack, type RTCPeerConnection } from "werift";
import { RoomClient } from "../../test/support/room-client.ts";
import { gathered, generatorPeer } from "./peer-config.ts";
import type { Sendable } from "./media-source.ts";
import { attachReceiver, Tally, type ReceiveMode } from "./receive.ts";
import { addSimulcastVideo, simulcastLayerTargets } from "./simulcast.ts";

export class OurParticipant {
  readonly video = new MediaStreamTrack({ kind: "video" });
  readonly audio = new MediaStreamTrack({ kind: "audio" });
  publisherPc: RTCPeerConnection | undefined;
  subscriberPc: RTCPeerConnection | undefined;
  readonly tally: Tally;
  /** After `publish({ simulcast: true })`: one Sendable per layer, lowest first. */
  layers: Sendable[] = [];
  /** performance.now() when the join request was sent. */
  readonly joinStartedAt = performance.now();
  /** performance.now() at each step of joining: socket open, joined, first subscriber offer, answer sent, connected. */
  readonly steps: Partial<Record<"socket" | "joined" | "offer" | "answered" | "connected" | "publishSent" | "publishAnswered", number>> = {};

  private constructor(
    readonly client: RoomClient,
    mode: ReceiveMode,
  ) {
    this.tally = new Tally(mode);
    client.onMessage((msg) => {
      if (msg.type === "subscriber-offer") this.answer(msg.sdp).catch(() => undefined); // closed meanwhile
    });
  }

  static async join(url: string, room: string, name: string, mode: ReceiveMode): Promise<OurParticipant> {
    const startedAt = performance.now();
    const p = new OurParticipant(await RoomClient.connect(url, room), mode);
    (p as { joinStartedAt: number }).joinStartedAt = startedAt;
    p.steps.socket = performance.now();
    await p.client.join(name);
    p.steps.joined = performance.now();
    return p;
  }

  /** Publishes audio + video; `simulcast` sends the video as three layers (simulcast.ts). */
  async publish(opts: { simulcast?: boolean } = {}): Promise<void> {
    const pc = (this.publisherPc = generatorPeer());
    pc.addTransceiver(this.audio, { direction: "sendonly" });
    const video = opts.simulcast ? addSimulcastVideo(pc, this.video) : pc.addTransceiver(this.video, { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const answer = this.client.next("publish-answer", () => true, 60_000);
    this.steps.publishSent = performance.now();
    this.client.send({ type: "publish", sdp: pc.localDescription!.sdp });
    const { sdp } = await answer;
    this.steps.publishAnswered = performance.now();
    await pc.setRemoteDescription({ type: "answer", sdp });
    await pc.connectionStateChange.watch((s) => s === "connected", 60_000);
    if (opts.simulcast) this.layers = simulcastLayerTargets(video, pc.localDescription!.sdp);
  }

  private async answer(sdp: string): Promise<void> {
    this.steps.offer ??= performance.now();
    if (!this.subscriberPc) {
      this.subscriberPc = generatorPeer();
      attachReceiver(this.subscriberPc, this.tally); // full receivers hook onTrack before the offer
    }
    const pc = this.subscriberPc;
    await pc.setRemoteDescription({ type: "offer", sdp });
    attachReceiver(pc, this.tally); // light receivers patch the DTLS transport it created
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    this.client.send({ type: "subscriber-answer", sdp: pc.localDescription!.sdp });
    this.steps.answered ??= performance.now();
  }

  /** Resolves once the subscriber PeerConnection is connected (after the node's first offer). */
  async subscribed(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.subscriberPc) {
      if (performance.now() > deadline) throw new Error("no subscriber offer from the room");
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.subscriberPc.connectionState !== "connected") {
      await this.subscriberPc.connectionStateChange.watch((s) => s === "connected", Math.max(1, deadline - performance.now()));
    }
    this.steps.connected ??= performance.now();
  }

  async close(): Promise<void> {
    this.client.close();
    await Promise.allSettled([this.publisherPc?.close(), this.subscriberPc?.close()]);
  }
}
