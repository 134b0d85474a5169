/**
 * mediasoup 3.8.4 as a bench SFU: one Worker (a C++ child process; its pid is what the bench
 * measures), one Router with Opus and VP8, one WebRtcTransport per peer listening on 127.0.0.1 only
 * (UDP, ICE-lite). mediasoup has no SDP, so this file holds the minimal translation the bench's
 * werift peers need, as mediasoup-client would do it: a publisher's offer → producer RTP parameters
 * and an answer; consumers → an offer to a subscriber, whose answer gives the DTLS parameters.
 */
import { execFileSync } from "node:child_process";
import { MediaStreamTrack, type RTCPeerConnection } from "werift";
import { loadMediasoup } from "./mediasoup-build.ts";
import type { Consumer, DtlsParameters, Producer, Router, RtpCapabilities, RtpParameters, WebRtcTransport, Worker } from "./mediasoup-types.ts";
import type { Sendable } from "./media-source.ts";
import { gathered, generatorPeer, MID_URI, RID_URI, TWCC_URI } from "./peer-config.ts";
import { attachReceiver, Tally, type ReceiveMode } from "./receive.ts";
import { addSimulcastVideo, simulcastLayerTargets } from "./simulcast.ts";

const MEDIA_CODECS = [
  { kind: "audio" as const, mimeType: "audio/opus", clockRate: 48000, channels: 2 },
  { kind: "video" as const, mimeType: "video/VP8", clockRate: 90000 },
];

/**
 * What the werift subscribers support (peer-config.ts), in the router's terms, as mediasoup-client
 * derives a device's receive capabilities: the router's Opus and VP8 with their payload types, the
 * feedback the subscribers negotiate (nack, pli, transport-cc), and the mid and transport-wide-cc
 * extensions with the router's ids (mediasoup matches extensions by URI and id).
 */
function subscriberCaps(router: Router): RtpCapabilities {
  const feedback = new Set(["nack", "nack pli", "transport-cc"]);
  const uris = new Set([MID_URI, TWCC_URI]);
  const caps = router.rtpCapabilities;
  return {
    codecs: (caps.codecs ?? [])
      .filter((c) => ["audio/opus", "video/vp8"].includes(c.mimeType.toLowerCase()))
      .map((c) => ({ ...c, rtcpFeedback: (c.rtcpFeedback ?? []).filter((fb) => feedback.has(`${fb.type}${fb.parameter ? ` ${fb.parameter}` : ""}`)) })),
    headerExtensions: (caps.headerExtensions ?? []).filter((e) => uris.has(e.uri)),
  };
}

// ---------------------------------------------------------------- SDP ↔ RTP parameters

interface Section {
  kind: "audio" | "video";
  mid: string;
  lines: string[];
}

function sections(sdp: string): { session: string[]; media: Section[] } {
  const [head, ...rest] = sdp.split(/\r?\nm=/);
  const media = rest.map((text) => {
    const lines = `m=${text}`.split(/\r?\n/).filter(Boolean);
    const kind = lines[0]!.slice(2).split(" ")[0] as "audio" | "video";
    const mid = lines.find((l) => l.startsWith("a=mid:"))?.slice(6) ?? "";
    return { kind, mid, lines };
  });
  return { session: head!.split(/\r?\n/).filter(Boolean), media };
}


function dtlsFromSdp(sdp: string, role: "client" | "server"): DtlsParameters {
  const fp = /^a=fingerprint:(\S+) (\S+)/m.exec(sdp);
  if (!fp) throw new Error("no DTLS fingerprint in the peer's SDP");
  return { role, fingerprints: [{ algorithm: fp[1]!.toLowerCase(), value: fp[2]! }] };
}

/** Producer RTP parameters from one m-section of the publisher's offer. */
function producerParameters(section: Section): RtpParameters {
  const { lines, kind, mid } = section;
  const wanted = kind === "audio" ? "opus/48000" : "vp8/90000";
  const rtpmap = lines.map((l) => /^a=rtpmap:(\d+) (\S+)/.exec(l)).find((m) => m && m[2]!.toLowerCase().startsWith(wanted));
  if (!rtpmap) throw new Error(`publisher offered no ${wanted}`);
  const pt = Number(rtpmap[1]);
  const rtcpFeedback = lines
    .map((l) => new RegExp(`^a=rtcp-fb:${pt} (\\S+)(?: (\\S+))?`).exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => (m[2] ? { type: m[1]!, parameter: m[2] } : { type: m[1]! }));
  const supported = new Set([MID_URI, RID_URI, TWCC_URI]);
  const headerExtensions = lines
    .map((l) => /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => !!m && supported.has(m[2]!) && (kind === "video" || m[2] !== RID_URI))
    .map((m) => ({ uri: m[2]!, id: Number(m[1]) }));
  const rids = lines.map((l) => /^a=rid:(\S+) send/.exec(l)?.[1]).filter((r): r is string => !!r);
  const ssrc = Number(/^a=ssrc:(\d+)/m.exec(lines.join("\n"))?.[1] ?? NaN);
  const cname = /^a=ssrc:\d+ cname:(\S+)/m.exec(lines.join("\n"))?.[1] ?? "bench";
  return {
    mid,
    codecs: [{ mimeType: kind === "audio" ? "audio/opus" : "video/VP8", payloadType: pt, clockRate: kind === "audio" ? 48000 : 90000, ...(kind === "audio" ? { channels: 2 } : {}), rtcpFeedback }],
    headerExtensions,
    encodings: rids.length ? rids.map((rid) => ({ rid })) : [{ ssrc }],
    rtcp: { cname, reducedSize: true },
  };
}

function transportLines(t: WebRtcTransport, setup: "actpass" | "passive"): string[] {
  const fp = t.dtlsParameters.fingerprints.find((f) => f.algorithm === "sha-256") ?? t.dtlsParameters.fingerprints[0]!;
  return [
    `a=ice-ufrag:${t.iceParameters.usernameFragment}`,
    `a=ice-pwd:${t.iceParameters.password}`,
    "a=ice-lite",
    `a=fingerprint:${fp.algorithm} ${fp.value}`,
    `a=setup:${setup}`,
    ...t.iceCandidates.map((c) => `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.ip} ${c.port} typ ${c.type}`),
    "a=end-of-candidates",
    "a=rtcp-mux",
    "a=rtcp-rsize",
  ];
}

function sessionLines(mids: string[]): string[] {
  return ["v=0", `o=mediasoup-bench ${Date.now()} 1 IN IP4 127.0.0.1`, "s=-", "t=0 0", "a=ice-lite", `a=group:BUNDLE ${mids.join(" ")}`, "a=msid-semantic: WMS *"];
}

function rtpLines(p: RtpParameters): string[] {
  const lines: string[] = [];
  for (const c of p.codecs) {
    const [, name] = c.mimeType.split("/");
    lines.push(`a=rtpmap:${c.payloadType} ${name}/${c.clockRate}${c.channels && c.channels > 1 ? `/${c.channels}` : ""}`);
    for (const fb of c.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${c.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ""}`);
    const fmtp = Object.entries(c.parameters ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(";");
    if (fmtp) lines.push(`a=fmtp:${c.payloadType} ${fmtp}`);
  }
  for (const e of p.headerExtensions ?? []) lines.push(`a=extmap:${e.id} ${e.uri}`);
  return lines;
}

/** The answer to a publisher's offer: every offered m-section received, simulcast by rid where offered. */
function publisherAnswer(t: WebRtcTransport, media: Section[], params: RtpParameters[]): string {
  const out = sessionLines(media.map((m) => m.mid));
  media.forEach((m, i) => {
    const p = params[i]!;
    out.push(`m=${m.kind} 7 UDP/TLS/RTP/SAVPF ${p.codecs.map((c) => c.payloadType).join(" ")}`, "c=IN IP4 127.0.0.1", `a=mid:${m.mid}`, "a=recvonly", ...transportLines(t, "passive"), ...rtpLines(p));
    const rids = (p.encodings ?? []).map((e) => e.rid).filter((r): r is string => !!r);
    if (rids.length) out.push(...rids.map((r) => `a=rid:${r} recv`), `a=simulcast:recv ${rids.join(";")}`);
  });
  return `${out.join("\r\n")}\r\n`;
}

/** The offer of consumers to a subscriber, one m-section each (mid = the consumer's). */
function consumerOffer(t: WebRtcTransport, consumers: Consumer[]): string {
  const out = sessionLines(consumers.map((c) => c.rtpParameters.mid!));
  for (const c of consumers) {
    const p = c.rtpParameters;
    const enc = p.encodings![0]!;
    out.push(
      `m=${c.kind} 7 UDP/TLS/RTP/SAVPF ${p.codecs.map((x) => x.payloadType).join(" ")}`, "c=IN IP4 127.0.0.1", `a=mid:${p.mid}`, "a=sendonly",
      ...transportLines(t, "actpass"), ...rtpLines(p),
      `a=msid:${c.id} ${c.id}-${c.kind}`, `a=ssrc:${enc.ssrc} cname:${p.rtcp?.cname ?? "mediasoup"}`,
    );
  }
  return `${out.join("\r\n")}\r\n`;
}

// ---------------------------------------------------------------- peers

export class MediasoupPublisher {
  readonly video = new MediaStreamTrack({ kind: "video" });
  readonly audio = new MediaStreamTrack({ kind: "audio" });
  readonly pc = generatorPeer();
  readonly producers: Producer[] = [];
  /** The layers' Sendables for a simulcast publisher, lowest first (empty for a single-layer one). */
  layers: Sendable[] = [];

  private constructor(readonly transport: WebRtcTransport) {}

  static async join(router: Router, simulcast: boolean): Promise<MediasoupPublisher> {
    const p = new MediasoupPublisher(await router.createWebRtcTransport({ listenIps: [{ ip: "127.0.0.1" }], enableUdp: true, enableTcp: false, preferUdp: true }));
    try {
      await p.negotiate(simulcast);
    } catch (err) {
      await p.close();
      throw err;
    }
    return p;
  }

  private async negotiate(simulcast: boolean): Promise<void> {
    const { pc, transport } = this;
    pc.addTransceiver(this.audio, { direction: "sendonly" });
    const videoTransceiver = simulcast ? addSimulcastVideo(pc, this.video) : pc.addTransceiver(this.video, { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const offer = pc.localDescription!.sdp;
    const { media } = sections(offer);
    const params = media.map(producerParameters);
    const answer = publisherAnswer(transport, media, params);
    // werift offered actpass and the answer says passive: werift is the DTLS client.
    await transport.connect({ dtlsParameters: dtlsFromSdp(offer, "client") });
    for (const [i, m] of media.entries()) this.producers.push(await transport.produce({ kind: m.kind, rtpParameters: params[i]! }));
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    await pc.connectionStateChange.watch((s) => s === "connected", 60_000);
    if (simulcast) this.layers = simulcastLayerTargets(videoTransceiver, offer);
  }

  async close(): Promise<void> {
    this.transport.close();
    await this.pc.close();
  }
}

/** Per subscriber, the spatial layer its simulcast consumers forward and its transport's send estimate. */
export async function subscriberDetail(subs: MediasoupSubscriber[]): Promise<string> {
  const layers = new Map<string, number>();
  const estimates: number[] = [];
  for (const s of subs) {
    for (const c of s.consumers) {
      if (!s.simulcastConsumerIds.has(c.id)) continue;
      const key = `spatial layer ${c.currentLayers?.spatialLayer ?? "none"}`;
      layers.set(key, (layers.get(key) ?? 0) + 1);
    }
    const stats = await s.transport.getStats().catch(() => []);
    const e = stats[0]?.availableOutgoingBitrate;
    if (e !== undefined) estimates.push(e);
  }
  estimates.sort((a, b) => a - b);
  const median = estimates[Math.floor(estimates.length / 2)];
  return `simulcast consumers on ${[...layers].map(([k, v]) => `${k}: ${v}`).join(", ")}; send estimate (availableOutgoingBitrate) median ${median !== undefined ? `${(median / 1000).toFixed(0)} kbps` : "n/a"}`;
}

export class MediasoupSubscriber {
  readonly pc: RTCPeerConnection = generatorPeer();
  readonly tally: Tally;
  readonly consumers: Consumer[] = [];
  readonly simulcastConsumerIds = new Set<string>();

  private constructor(readonly transport: WebRtcTransport, mode: ReceiveMode) {
    this.tally = new Tally(mode);
    attachReceiver(this.pc, this.tally);
  }

  /** `simulcast`: ids of the producers that send simulcast. */
  static async join(router: Router, producers: Producer[], mode: ReceiveMode, simulcast = new Set<string>()): Promise<MediasoupSubscriber> {
    const s = new MediasoupSubscriber(await router.createWebRtcTransport({ listenIps: [{ ip: "127.0.0.1" }], enableUdp: true, enableTcp: false, preferUdp: true }), mode);
    try {
      await s.negotiate(router, producers, simulcast);
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  private async negotiate(router: Router, producers: Producer[], simulcast: Set<string>): Promise<void> {
    const { pc, transport } = this;
    for (const producer of producers) {
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: subscriberCaps(router), paused: true });
      this.consumers.push(consumer);
      if (simulcast.has(producer.id)) this.simulcastConsumerIds.add(consumer.id);
    }
    await pc.setRemoteDescription({ type: "offer", sdp: consumerOffer(transport, this.consumers) });
    attachReceiver(pc, this.tally);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    const answer = pc.localDescription!.sdp;
    const setup = /^a=setup:(\S+)/m.exec(answer)?.[1];
    await transport.connect({ dtlsParameters: dtlsFromSdp(answer, setup === "passive" ? "server" : "client") });
    await pc.connectionStateChange.watch((st) => st === "connected", 60_000);
    await Promise.all(this.consumers.map((c) => c.resume()));
  }

  async close(): Promise<void> {
    this.transport.close();
    await this.pc.close();
  }
}

// ---------------------------------------------------------------- the SFU

export interface MediasoupSfu {
  version: string;
  worker: Worker;
  router: Router;
  stop(): Promise<void>;
}

export async function startMediasoup(rtcPorts: [number, number]): Promise<MediasoupSfu> {
  const ms = await loadMediasoup();
  const worker = await ms.createWorker({ logLevel: process.env.BENCH_MS_LOG ? "debug" : "warn", logTags: process.env.BENCH_MS_LOG?.split(","), rtcMinPort: rtcPorts[0], rtcMaxPort: rtcPorts[1] });
  worker.on("died", (err) => console.error(`[mediasoup] worker died: ${String(err)}`));
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  return {
    version: ms.version,
    worker,
    router,
    stop: async () => {
      router.close();
      worker.close();
      await new Promise((r) => setTimeout(r, 200));
    },
  };
}

/** UDP sockets of `pid` as `ip:port` (ss -uanp). */
export function udpSockets(pid: number): string[] {
  const out = execFileSync("ss", ["-uanp"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[3]!)
    .filter(Boolean);
}
