/**
 * Load-generator peers in a Janus VideoRoom, the same werift peers as in our system (ours.ts):
 * a publisher that joins and configures with an offer, and subscribers that join with the
 * publisher's feed and answer Janus's offer with a light or full receiver.
 */
import { MediaStreamTrack, type RTCPeerConnection } from "werift";
import type { JanusSession } from "./janus-client.ts";
import { gathered, generatorPeer } from "./peer-config.ts";
import type { Sendable } from "./media-source.ts";
import { attachReceiver, Tally, type ReceiveMode } from "./receive.ts";
import { addSimulcastVideo, simulcastLayerTargets } from "./simulcast.ts";

export async function createRoom(session: JanusSession, room: number): Promise<void> {
  const handle = await session.attach();
  await session.message(handle, {
    request: "create", room, description: "bench", publishers: 4, bitrate: 50_000_000, bitrate_cap: false,
    videocodec: "vp8", audiocodec: "opus", notify_joining: false, fir_freq: 0, permanent: false,
  });
  await session.detach(handle);
}

function assertLoopback(sdp: string): void {
  const candidates = sdp.split(/\r?\n/).filter((l) => l.startsWith("a=candidate:"));
  const elsewhere = candidates.filter((c) => c.split(" ")[4] !== "127.0.0.1");
  if (!candidates.length || elsewhere.length) throw new Error(`Janus offered candidates off 127.0.0.1 (or none): ${candidates.join(" | ")}`);
}

export class JanusPublisher {
  readonly video = new MediaStreamTrack({ kind: "video" });
  readonly audio = new MediaStreamTrack({ kind: "audio" });
  readonly pc = generatorPeer();
  feedId = 0;
  /** With `simulcast`: one Sendable per layer, lowest first. */
  layers: Sendable[] = [];

  private constructor(readonly session: JanusSession, readonly handle: number) {}

  static async join(session: JanusSession, room: number, opts: { simulcast?: boolean } = {}): Promise<JanusPublisher> {
    const p = new JanusPublisher(session, await session.attach());
    p.pc.addTransceiver(p.audio, { direction: "sendonly" });
    const video = opts.simulcast ? addSimulcastVideo(p.pc, p.video) : p.pc.addTransceiver(p.video, { direction: "sendonly" });
    await p.pc.setLocalDescription(await p.pc.createOffer());
    await gathered(p.pc);
    const res = await session.message(
      p.handle,
      { request: "joinandconfigure", room, ptype: "publisher", display: opts.simulcast ? "simulcast-publisher" : "publisher", audio: true, video: true, bitrate: 50_000_000 },
      { type: "offer", sdp: p.pc.localDescription!.sdp },
    );
    if (!res.jsep) throw new Error(`janus publisher: no answer in ${JSON.stringify(res.plugindata)}`);
    assertLoopback(res.jsep.sdp);
    p.feedId = Number(res.plugindata!.data.id);
    await p.pc.setRemoteDescription(res.jsep);
    await session.trickleDone(p.handle);
    await p.pc.connectionStateChange.watch((s) => s === "connected", 60_000);
    if (opts.simulcast) p.layers = simulcastLayerTargets(video, p.pc.localDescription!.sdp);
    return p;
  }

  async close(): Promise<void> {
    await this.session.detach(this.handle);
    await this.pc.close();
  }
}

export class JanusSubscriber {
  readonly pc: RTCPeerConnection = generatorPeer();
  readonly tally: Tally;
  readonly joinStartedAt = performance.now();

  private constructor(readonly session: JanusSession, readonly handle: number, mode: ReceiveMode) {
    this.tally = new Tally(mode);
    attachReceiver(this.pc, this.tally);
  }

  static async join(session: JanusSession, room: number, feeds: number[], mode: ReceiveMode): Promise<JanusSubscriber> {
    const s = new JanusSubscriber(session, await session.attach(), mode);
    try {
      await s.negotiate(room, feeds);
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  private async negotiate(room: number, feeds: number[]): Promise<void> {
    const { session, handle } = this;
    const res = await session.message(handle, { request: "join", room, ptype: "subscriber", streams: feeds.map((feed) => ({ feed })) });
    if (!res.jsep) throw new Error(`janus subscriber: no offer in ${JSON.stringify(res.plugindata)}`);
    assertLoopback(res.jsep.sdp);
    await this.pc.setRemoteDescription(res.jsep);
    attachReceiver(this.pc, this.tally);
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await gathered(this.pc);
    await session.message(handle, { request: "start" }, { type: "answer", sdp: this.pc.localDescription!.sdp });
    await session.trickleDone(handle);
    await this.pc.connectionStateChange.watch((st) => st === "connected", 60_000);
  }

  async close(): Promise<void> {
    await this.session.detach(this.handle);
    await this.pc.close();
  }
}
