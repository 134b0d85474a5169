/**
 * Receive side of the load generator. A *light* subscriber never decrypts: SRTP leaves the RTP
 * header in clear text, so it counts video packets by reading the first bytes of each datagram off
 * werift's ICE connection, before DTLS/SRTP (ICE consent and keepalives still run in werift, so it
 * stays connected). A *full* subscriber decrypts every packet (about 40 µs each) and reads the
 * send time at the end of the payload for forwarding latency.
 */
import { performance } from "node:perf_hooks";
import type { RTCPeerConnection } from "werift";
import { latencyOf } from "./media-source.ts";

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
  private readonly highest = new Map<number, number>();

  constructor(readonly mode: ReceiveMode) {
    if (mode === "full") this.latencies = [];
  }

  count(bytes: number, ssrc: number, seq: number): void {
    this.packets++;
    this.bytes += bytes;
    this.firstPacketAt ??= performance.now();
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
  if (tally.mode === "full") {
    if (patched.has(pc)) return;
    patched.add(pc);
    pc.onTrack.subscribe((track) => {
      if (track.kind !== "video") return;
      track.onReceiveRtp.subscribe((rtp) => {
        tally.count(rtp.serializeSize, rtp.header.ssrc, rtp.header.sequenceNumber);
        if (rtp.payload.length > 12) tally.latencies!.push(latencyOf(rtp.payload));
      });
    });
    return;
  }
  for (const transport of pc.dtlsTransports) {
    if (patched.has(transport)) continue;
    patched.add(transport);
    const dtls = transport as unknown as DtlsInternals;
    dtls.startSrtp = function (this: DtlsInternals) {
      if (this.srtpStarted) return;
      this.srtpStarted = true;
      this.updateSrtpSession(); // keys for RTCP werift may still send
      const video = videoPayloadTypes(pc);
      this.iceTransport.connection.onData.subscribe((data) => {
        const b0 = data[0]!;
        const b1 = data[1]!;
        if (b0 < 128 || b0 > 191 || (b1 >= 192 && b1 <= 223)) return; // not RTP (STUN, DTLS, RTCP)
        if (video.has(b1 & 0x7f)) tally.count(data.length, data.readUInt32BE(8), data.readUInt16BE(2));
      });
    };
  }
}
