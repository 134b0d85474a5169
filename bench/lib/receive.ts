/**
 * Receive side of the load generator. A *light* subscriber never decrypts: SRTP leaves the RTP
 * header in clear text, so it counts video packets by reading the first bytes of each datagram off
 * werift's ICE connection, before DTLS/SRTP (ICE consent and keepalives still run in werift, so it
 * stays connected). A *full* subscriber decrypts every packet (about 40 µs each) and reads the
 * send time at the end of the payload for forwarding latency.
 *
 * Transport-wide congestion control feedback, when transport-cc was negotiated: every subscriber
 * sends it as a browser does, one feedback stream per transport every 100 ms (twcc.ts; werift's own
 * is malformed). A full subscriber feeds it from werift's receive path (it replaces werift's
 * per-m-line ReceiverTWCC); a light one reads the transport-wide sequence number from the clear-text
 * header extension. Either way werift encrypts and sends the RTCP.
 */
import { performance } from "node:perf_hooks";
import type { RTCPeerConnection } from "werift";
import { latencyOf } from "./media-source.ts";
import { TWCC_URI } from "./peer-config.ts";
import { TwccFeedback, type RtcpSender } from "./twcc.ts";

export type ReceiveMode = "light" | "full";

/**
 * What one subscriber received; the caller resets `latencies` between windows. `expected` counts
 * packets by RTP sequence number (highest extended sequence number − first + 1, per SSRC), as a
 * receiver report does, so loss over a short window does not depend on when a burst arrived.
 */
export class Tally {
  packets = 0;
  bytes = 0;
  expected = 0;
  firstPacketAt: number | undefined;
  latencies: number[] | undefined;
  /** Video packets per SSRC since the last `resetWindow`. */
  readonly ssrcs = new Map<number, number>();
  private readonly highest = new Map<number, number>();

  /** Starts a measurement window: counts and latency samples from zero (sequence tracking goes on). */
  resetWindow(): void {
    this.packets = 0;
    this.bytes = 0;
    this.expected = 0;
    this.ssrcs.clear();
    if (this.latencies) this.latencies.length = 0;
  }

  constructor(readonly mode: ReceiveMode) {
    if (mode === "full") this.latencies = [];
  }

  count(bytes: number, ssrc: number, seq: number): void {
    this.packets++;
    this.bytes += bytes;
    this.firstPacketAt ??= performance.now();
    this.ssrcs.set(ssrc, (this.ssrcs.get(ssrc) ?? 0) + 1);
    const top = this.highest.get(ssrc);
    if (top === undefined) {
      this.highest.set(ssrc, seq);
      this.expected++;
      return;
    }
    const delta = ((seq - (top & 0xffff) + 0x8000) & 0xffff) - 0x8000; // signed distance, wraparound-safe
    if (delta > 0) {
      this.highest.set(ssrc, top + delta);
      this.expected += delta;
    }
  }
}

function videoPayloadTypes(pc: RTCPeerConnection): Set<number> {
  const types = new Set<number>();
  for (const t of pc.getTransceivers()) {
    if (t.kind !== "video") continue;
    for (const c of t.codecs) if (c.mimeType.toLowerCase() === "video/vp8" && c.payloadType !== undefined) types.add(c.payloadType);
  }
  return types;
}

/** werift's RTCRtpReceiver internals that run transport-wide feedback. */
interface ReceiverInternals {
  twccEnabled: unknown;
  receiverTWCC: { handleTWCC(transportSequenceNumber: number): void; twccRunning: boolean } | undefined;
  dtlsTransport: RtcpSender;
}

/** One feedback stream for `pc`'s (bundled) transport, stopped when it closes. */
function feedbackFor(pc: RTCPeerConnection, transport: RtcpSender): TwccFeedback {
  const fb = new TwccFeedback(transport);
  pc.connectionStateChange.subscribe((s) => {
    if (s === "closed" || s === "failed") fb.stop();
  });
  return fb;
}

/** The transport-wide sequence number in an RTP packet's one-byte header extension `id` (RFC 8285), if present. */
export function transportSequenceNumber(data: Buffer, id: number): number | undefined {
  if ((data[0]! & 0x10) === 0) return undefined;
  let at = 12 + 4 * (data[0]! & 0x0f);
  if (at + 4 > data.length || data.readUInt16BE(at) !== 0xbede) return undefined;
  const end = Math.min(data.length, at + 4 + 4 * data.readUInt16BE(at + 2));
  at += 4;
  while (at < end) {
    const b = data[at]!;
    if (b === 0) {
      at++;
      continue;
    }
    const extId = b >> 4;
    const len = (b & 0x0f) + 1;
    if (extId === 15) return undefined;
    if (extId === id && len === 2 && at + 3 <= end) return data.readUInt16BE(at + 1);
    at += 1 + len;
  }
  return undefined;
}

interface DtlsInternals {
  srtpStarted: boolean;
  updateSrtpSession(): void;
  startSrtp(): void;
  iceTransport: { connection: { onData: { subscribe(fn: (data: Buffer) => void): unknown } } };
}
const patched = new WeakSet<object>();

/**
 * Attaches `tally` to `pc`. Call it when the PeerConnection is created (a full receiver hooks
 * onTrack, which fires inside setRemoteDescription) and again right after setRemoteDescription (a
 * light receiver patches the DTLS transport, which exists by then and has not finished its
 * handshake). Idempotent, so renegotiations may call it again.
 */
export function attachReceiver(pc: RTCPeerConnection, tally: Tally): void {
  if (tally.mode === "full" && !patched.has(pc)) {
    patched.add(pc);
    pc.onTrack.subscribe((track) => {
      if (track.kind !== "video") return;
      // Feedback comes from the socket tap below; werift's own (per m-line, malformed) stays off.
      for (const t of pc.getTransceivers()) {
        const receiver = t.receiver as unknown as ReceiverInternals;
        if (t.kind === "video" && !receiver.receiverTWCC) receiver.receiverTWCC = { handleTWCC: () => undefined, twccRunning: false };
      }
      track.onReceiveRtp.subscribe((rtp) => {
        tally.count(rtp.serializeSize, rtp.header.ssrc, rtp.header.sequenceNumber);
        if (rtp.payload.length > 12) tally.latencies!.push(latencyOf(rtp.payload));
      });
    });
  }
  if (!pc.remoteDescription) return; // the transports' part needs the negotiated payload types and extensions
  for (const transport of pc.dtlsTransports) {
    if (patched.has(transport)) continue;
    patched.add(transport);
    const dtls = transport as unknown as DtlsInternals;
    const video = videoPayloadTypes(pc);
    const twccId = Number(/^a=extmap:(\d+)(?:\/\w+)? (\S+)/m.exec((pc.remoteDescription.sdp ?? "").split(/\r?\n/).find((l) => l.endsWith(` ${TWCC_URI}`)) ?? "")?.[1] ?? 0);
    const negotiated = pc.getTransceivers().some((t) => t.kind === "video" && (t.receiver as unknown as ReceiverInternals).twccEnabled);
    const fb = twccId && negotiated ? feedbackFor(pc, transport as unknown as RtcpSender) : undefined;
    const light = tally.mode === "light";
    /** Every datagram as it comes off the socket: light subscribers count RTP here; all feed transport-wide feedback. */
    const tap = (data: Buffer) => {
      const b0 = data[0]!;
      const b1 = data[1]!;
      if (b0 < 128 || b0 > 191 || (b1 >= 192 && b1 <= 223)) return; // not RTP (STUN, DTLS, RTCP)
      const ssrc = data.readUInt32BE(8);
      if (light && video.has(b1 & 0x7f)) tally.count(data.length, ssrc, data.readUInt16BE(2));
      if (fb) {
        const tsn = transportSequenceNumber(data, twccId);
        if (tsn !== undefined) fb.add(tsn, ssrc);
      }
    };
    if (!light) {
      dtls.iceTransport.connection.onData.subscribe(tap);
      continue;
    }
    dtls.startSrtp = function (this: DtlsInternals) {
      if (this.srtpStarted) return;
      this.srtpStarted = true;
      this.updateSrtpSession(); // keys for RTCP werift may still send
      this.iceTransport.connection.onData.subscribe(tap);
    };
  }
}
