import type { Socket } from "node:dgram";
import {
  GenericNack,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  TransportWideCC,
  type RTCDtlsTransport,
  type RTCPeerConnection,
  type RTCRtpSender,
  type RtcpPacket,
} from "werift";
import type { Cancel, Scheduler } from "../clock.ts";
import { log } from "../log.ts";
import { egressPath, flushSoon, udpHandle, type NativeEgressAddon, type UdpHandle, type NativeSender } from "./native-egress.ts";
import { RtpHistory } from "./rtp-history.ts";
import { RolloverTracker, SrtpProtector, SRTP_AES128_CM_HMAC_SHA1_80 } from "./srtp-protector.ts";
import { senderReportTimestamps } from "./sender-report.ts";
import { twccPacketResults, type TwccPacketResult } from "./twcc-feedback.ts";

/** What the rest of the node hears from a subscriber's transport. */
export interface EgressListener {
  /** Transport-wide feedback arrived: which of our packets got there, and when. */
  transportFeedback(results: readonly TwccPacketResult[], now: number): void;
  /** A packet left on the wire (transport-wide sequence number, bytes on the wire). */
  packetSent(transportSeq: number, bytes: number, now: number): void;
}

/** Test-only impairment of what leaves this transport (a stand-in for a lossy or narrow link). */
export interface EgressImpairment {
  /** Decides whether this packet is lost on the way (true = drop). */
  drop(bytes: number, now: number): boolean;
}

interface SrtpInternals {
  localContext: { profile: number; srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag?: Buffer };
}
interface UdpPairInternals {
  remoteAddr: [string, number];
  protocol: { transport?: { socket?: Socket } };
}
interface DtlsInternals {
  state: string;
  srtp?: SrtpInternals;
  iceTransport: { connection: { nominated?: UdpPairInternals; send(data: Buffer): Promise<void> } };
}

const SR_INTERVAL_MS = 1000;
const ignoreFeedback = () => undefined;

/**
 * One outgoing RTP stream on a subscriber's transport: an m-line's SSRC, its rollover counter,
 * its retransmission history and the counts its sender reports carry.
 */
export class OutStream {
  readonly rollover = new RolloverTracker();
  readonly history = new RtpHistory();
  packetsSent = 0;
  octetsSent = 0;
  lastTimestamp = 0;
  lastSentAt = 0;
  /** Header-extension id of transport-wide-cc on this m-line, once negotiated. */
  twccExtensionId: number | undefined;

  constructor(
    private readonly egress: RtpEgress,
    readonly sender: RTCRtpSender,
  ) {
    egress.register(this);
    // werift's sender no longer sends this stream's packets, so its own bandwidth estimator knows
    // none of them; left on, it would expand every transport-wide feedback once per m-line for nothing.
    const bwe = (sender as unknown as { senderBWE?: { receiveTWCC?: unknown } }).senderBWE;
    if (bwe) bwe.receiveTWCC = ignoreFeedback;
  }

  get ssrc(): number {
    return this.sender.ssrc;
  }

  /** Sends one packet at its rewritten position; kept for retransmission. */
  send(payload: Buffer, marker: boolean, sequenceNumber: number, timestamp: number, now: number): void {
    if (!this.egress.write(this, payload, marker, sequenceNumber, timestamp, now)) return;
    this.history.store(sequenceNumber, payload, timestamp, marker, now);
    this.packetsSent++;
    this.octetsSent += payload.length;
    this.lastTimestamp = timestamp;
    this.lastSentAt = now;
  }

  resend(sequenceNumber: number, now: number): void {
    const p = this.history.takeForResend(sequenceNumber, now);
    if (p) this.egress.write(this, p.payload, p.marker, sequenceNumber, p.timestamp, now);
  }

  close(): void {
    this.history.clear();
    this.egress.unregister(this);
  }
}

/**
 * The lean send path of one subscriber PeerConnection. werift still does ICE, DTLS and incoming
 * RTCP; outgoing RTP bypasses its RTCRtpSender (a header object rebuilt per packet, an NTP
 * timestamp, promise chains, a cache of packet objects) and goes: header written into one buffer,
 * SRTP with the DTLS-derived session keys, one `send` on the ICE-selected socket. Because werift's
 * sender no longer sees the packets, this class also answers NACKs (from each stream's history),
 * reads transport-wide feedback, and sends the sender reports.
 */
export class RtpEgress {
  private readonly streams = new Map<number, OutStream>();
  private protector: SrtpProtector | undefined;
  private boundSrtp: SrtpInternals | undefined;
  /** The native path, when the addon is loaded: its sender for the bound keys, and the pair it sends on. */
  private readonly addon: NativeEgressAddon | undefined;
  private nativeSender: NativeSender | undefined;
  private routedPair: UdpPairInternals | undefined;
  private routeHandle: UdpHandle | undefined;
  private nativeRoute = false;
  private transportSeq = 0;
  private rtcpSub: { unSubscribe: () => void } | undefined;
  private transport: RTCDtlsTransport | undefined;
  private stopReports: Cancel | undefined;
  impairment: EgressImpairment | undefined;
  listener: EgressListener | undefined;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly scheduler: Scheduler,
  ) {
    const path = egressPath();
    this.addon = path.kind === "native" ? path.addon : undefined;
  }

  register(stream: OutStream): void {
    this.streams.set(stream.ssrc, stream);
  }

  unregister(stream: OutStream): void {
    if (this.streams.get(stream.ssrc) === stream) this.streams.delete(stream.ssrc);
  }

  /** Starts listening for RTCP and sending reports; call once the transport is connected. */
  start(): void {
    const dtls = this.dtls();
    if (!dtls || this.rtcpSub) return;
    // The I/O edge of incoming RTCP: one clock read per packet.
    this.rtcpSub = dtls.onRtcp.subscribe((packet) => this.onRtcp(packet, this.scheduler.clock.now()));
    this.stopReports = this.scheduler.every(SR_INTERVAL_MS, (now) => this.sendReports(now));
  }

  close(): void {
    this.rtcpSub?.unSubscribe();
    this.stopReports?.();
    this.streams.clear();
    if (this.nativeSender) this.addon!.closeSender(this.nativeSender);
    this.nativeSender = undefined;
    this.nativeRoute = false;
  }

  /** Writes, protects and sends one RTP packet; false if the transport cannot send yet. */
  write(stream: OutStream, payload: Buffer, marker: boolean, sequenceNumber: number, timestamp: number, now: number): boolean {
    const dtls = this.dtls() as unknown as DtlsInternals | undefined;
    if (!dtls || dtls.state !== "connected" || !dtls.srtp) return false;
    if (dtls.srtp !== this.boundSrtp) this.bind(dtls.srtp);
    const pair = dtls.iceTransport.connection.nominated;
    const payloadType = stream.sender.codec?.payloadType;
    if (!pair || payloadType === undefined) return false;
    if (pair !== this.routedPair) this.route(pair);

    const ext = stream.twccExtensionId;
    const headerLength = ext === undefined ? 12 : 20;
    let transportSeq = -1;
    if (ext !== undefined) transportSeq = this.transportSeq = (this.transportSeq + 1) & 0xffff;
    const roc = stream.rollover.next(sequenceNumber);
    // The ciphertext is as long as the payload.
    const length = headerLength + payload.length + this.protector!.tagLength;
    if (transportSeq >= 0) this.listener?.packetSent(transportSeq, length, now);
    if (this.impairment?.drop(length, now)) return true;
    const byte1 = (marker ? 0x80 : 0) | payloadType;
    if (this.nativeRoute && this.routeHandle!.open()) {
      const queued = this.addon!.send(this.nativeSender!, payload, byte1, sequenceNumber, timestamp >>> 0, stream.ssrc >>> 0, roc, ext ?? 0, transportSeq & 0xffff);
      if (queued > 0) {
        flushSoon(this.addon!);
        return true;
      }
      // -1: a payload larger than the native path's slots (never from a browser): the TypeScript path takes it.
    }
    this.writeJs(dtls, pair, stream.ssrc, payload, byte1, sequenceNumber, timestamp, roc, ext, transportSeq, length);
    return true;
  }

  /** The TypeScript send path: node:crypto for SRTP, `dgram` (or werift's connection) to send. */
  private writeJs(dtls: DtlsInternals, pair: UdpPairInternals, ssrc: number, payload: Buffer, byte1: number, sequenceNumber: number, timestamp: number, roc: number, ext: number | undefined, transportSeq: number, length: number): void {
    const headerLength = ext === undefined ? 12 : 20;
    const out = Buffer.allocUnsafe(length);
    out[0] = ext === undefined ? 0x80 : 0x90;
    out[1] = byte1;
    out.writeUInt16BE(sequenceNumber, 2);
    out.writeUInt32BE(timestamp >>> 0, 4);
    out.writeUInt32BE(ssrc >>> 0, 8);
    if (ext !== undefined) {
      // RFC 8285 one-byte form: 0xBEDE, one word of elements: [id | len-1] seq(2) padding(1).
      out[12] = 0xbe;
      out[13] = 0xde;
      out[14] = 0;
      out[15] = 1;
      out[16] = (ext << 4) | 1;
      out.writeUInt16BE(transportSeq, 17);
      out[19] = 0;
    }
    this.protector!.protect(out, headerLength, payload, ssrc, roc, sequenceNumber);
    const socket = pair.protocol.transport?.socket;
    try {
      if (socket) socket.send(out, pair.remoteAddr[1], pair.remoteAddr[0]);
      else void dtls.iceTransport.connection.send(out).catch(reportSendError);
    } catch (err) {
      reportSendError(err); // a socket closed under us: the PeerConnection is going away
    }
  }

  /** Decides how packets reach this pair: natively on its UDP socket, or through the TypeScript path (no addon, or no UDP socket of the node's own). */
  private route(pair: UdpPairInternals): void {
    this.routedPair = pair;
    this.nativeRoute = false;
    if (!this.addon || !this.nativeSender) return;
    const socket = pair.protocol.transport?.socket;
    const handle = socket && udpHandle(socket);
    if (!handle) return;
    this.routeHandle = handle;
    this.nativeRoute = this.addon.setPath(this.nativeSender, handle.fd, pair.remoteAddr[0], pair.remoteAddr[1]);
  }

  private dtls(): RTCDtlsTransport | undefined {
    // werift's getter builds an array on every call; the bundled transport does not change.
    this.transport ??= this.pc.dtlsTransports[0];
    return this.transport;
  }

  private bind(srtp: SrtpInternals): void {
    const ctx = srtp.localContext;
    this.protector = new SrtpProtector({
      profile: ctx.profile,
      sessionKey: ctx.srtpSessionKey,
      sessionSalt: ctx.srtpSessionSalt,
      sessionAuthKey: ctx.profile === SRTP_AES128_CM_HMAC_SHA1_80 ? ctx.srtpSessionAuthTag : undefined,
    });
    this.boundSrtp = srtp;
    if (this.addon) {
      if (this.nativeSender) this.addon.closeSender(this.nativeSender);
      this.nativeSender = this.addon.createSender(ctx.profile, ctx.srtpSessionKey, ctx.srtpSessionSalt, ctx.profile === SRTP_AES128_CM_HMAC_SHA1_80 ? ctx.srtpSessionAuthTag : undefined);
      this.routedPair = undefined; // the new sender needs its path
    }
  }

  private onRtcp(packet: RtcpPacket, now: number): void {
    if (packet.type !== RtcpTransportLayerFeedback.type) return;
    const fb = (packet as RtcpTransportLayerFeedback).feedback;
    if (fb instanceof GenericNack) {
      const stream = this.streams.get(fb.mediaSourceSsrc);
      if (stream) for (const seq of fb.lost) stream.resend(seq, now);
    } else if (fb instanceof TransportWideCC) {
      const results = twccPacketResults(fb);
      if (results) this.listener?.transportFeedback(results, now);
    }
  }

  private sendReports(now: number): void {
    const dtls = this.dtls();
    if (!dtls || dtls.state !== "connected") return;
    const packets: RtcpPacket[] = [];
    const wallMs = this.scheduler.clock.wallMs(now);
    for (const s of this.streams.values()) {
      if (s.packetsSent === 0) continue;
      const { ntp, rtp } = senderReportTimestamps(s, s.sender.codec?.clockRate ?? 90000, now, wallMs);
      packets.push(
        new RtcpSrPacket({
          ssrc: s.ssrc,
          senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp: rtp, packetCount: s.packetsSent >>> 0, octetCount: s.octetsSent >>> 0 }),
        }),
        new RtcpSourceDescriptionPacket({
          chunks: [new SourceDescriptionChunk({ source: s.ssrc, items: [new SourceDescriptionItem({ type: 1, text: (s.sender as unknown as { cname?: string }).cname ?? "sfu" })] })],
        }),
      );
    }
    if (packets.length) dtls.sendRtcp(packets).catch(reportSendError);
  }
}

let sendErrors = 0;
function reportSendError(err: unknown): void {
  // Logged sparsely: a broken socket would otherwise log once per packet.
  if (sendErrors++ % 1000 === 0) log("warn", "rtp send failed", { error: String(err), count: sendErrors });
}
