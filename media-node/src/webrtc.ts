import { isForwardableCandidate, MAX_CANDIDATES_PER_PC, type IceCandidate, type RemoteCandidates } from "@sfu/shared";
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  useAudioLevelIndication,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  useTransportWideCC,
  type DtlsSocket,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
} from "werift";
import type { Scheduler } from "./clock.ts";
import { carriesFatalAlert, isDtlsDatagram, screenDtlsDatagram, type DtlsSessionView } from "./dtls-guard.ts";
import { LimitError } from "./limit-error.ts";
import { acceptFromStranger } from "./stun-gate.ts";
import { log } from "./log.ts";

/** The werift adapter: how every PeerConnection of the node is configured. */
export interface RtcNetwork {
  announcedIp: string;
  bindIp: string;
  portRange: [number, number];
}

const feedback = [{ type: "nack" }, { type: "nack", parameter: "pli" }];

const CODECS = {
  audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2, rtcpFeedback: [] })],
  video: [
    new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, rtcpFeedback: feedback }),
    new RTCRtpCodecParameters({
      mimeType: "video/H264",
      clockRate: 90000,
      rtcpFeedback: feedback,
      parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    }),
  ],
};

export const TWCC_EXTENSION_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
const transportCcFeedback = { type: "transport-cc" };

/**
 * The same extensions with the same ids on audio and video m-lines. werift numbers its audio list
 * and then its video list (mid = 1 on audio, 3 on video), but Chrome keeps one id per extension for
 * a BUNDLE transport: with two ids for transport-wide-cc it read the sequence numbers of one kind
 * only and reported the other kind's packets as lost. Passing the same objects in both lists makes
 * werift's numbering land on one id each.
 */
function bundleWideExtensions(extensions: RTCRtpHeaderExtensionParameters[]) {
  return { audio: extensions, video: extensions };
}

/**
 * @param role "subscriber" PeerConnections negotiate transport-wide congestion control: the node
 *   numbers what it sends and estimates each subscriber's bandwidth from the feedback. Publisher
 *   PeerConnections do not: werift's own TWCC feedback omits lost packets and was seen to collapse
 *   Chrome's estimate; publishers get REMB from the node instead.
 */
export function createPeerConnection(net: RtcNetwork, role: "publisher" | "subscriber" = "publisher"): RTCPeerConnection {
  const loopbackOnly = net.bindIp === "127.0.0.1";
  const subscriber = role === "subscriber";
  return new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: !loopbackOnly,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [net.announcedIp],
    iceInterfaceAddresses: { udp4: net.bindIp },
    icePortRange: net.portRange,
    codecs: CODECS,
    // Publishers: rid and repaired-rid tell simulcast layers apart (werift answers a=simulcast:recv itself).
    headerExtensions: subscriber ? bundleWideExtensions([useSdesMid(), useTransportWideCC()]) : { audio: [useSdesMid(), useAudioLevelIndication()], video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId()] },
    bundlePolicy: "max-bundle",
  });
}

/** The codec a subscriber's m-line carries for a track: the publisher's, with the feedback the node acts on. */
export function subscriberCodec(publisherCodec: RTCRtpCodecParameters): RTCRtpCodecParameters {
  const base = publisherCodec.mimeType.startsWith("video/") ? feedback : [];
  return new RTCRtpCodecParameters({
    mimeType: publisherCodec.mimeType,
    clockRate: publisherCodec.clockRate,
    payloadType: publisherCodec.payloadType,
    channels: publisherCodec.channels,
    parameters: publisherCodec.parameters,
    rtcpFeedback: [...base, transportCcFeedback],
  });
}

/** The transport-wide-cc extension id negotiated on an m-line, if any. */
export const transportCcExtensionId = (transceiver: RTCRtpTransceiver) => negotiatedExtensionId(transceiver, TWCC_EXTENSION_URI);

/**
 * Narrows a publisher's m-line to the single codec it will send: the browser's first preference
 * that we can forward (H264 only in packetization-mode 1), with feedback limited to what the node
 * answers (NACK, PLI). One codec per track keeps the subscriber's payload mapping exact.
 */
export function pinPublisherCodec(transceiver: RTCRtpTransceiver): RTCRtpCodecParameters {
  const chosen = transceiver.codecs.find(
    (c) => c.name.toLowerCase() !== "rtx" && !/packetization-mode=0/.test(c.parameters ?? "") && !(c.name === "H264" && !/packetization-mode=1/.test(c.parameters ?? "")),
  );
  if (!chosen) throw new Error(`no forwardable ${transceiver.kind} codec offered`);
  const pinned = new RTCRtpCodecParameters({
    mimeType: chosen.mimeType,
    clockRate: chosen.clockRate,
    channels: chosen.channels,
    payloadType: chosen.payloadType,
    parameters: transceiver.kind === "video" ? withStartBitrate(chosen.parameters) : chosen.parameters,
    // goog-remb: the node tells the publisher its ceiling (see PublisherBitrate).
    rtcpFeedback: transceiver.kind === "video" ? [...feedback, { type: "goog-remb" }] : [],
  });
  transceiver.codecs = [pinned];
  return pinned;
}

/**
 * Chromium starts its send estimate at 300 kbps and, without REMB or transport-cc feedback (the
 * node gives none yet), raises it slowly: the full simulcast layer stayed off for over 30 s. Its
 * `x-google-start-bitrate` fmtp parameter, honoured from the answer, starts it where all three
 * layers fit; losses still bring it down.
 */
export const PUBLISHER_START_KBPS = 2000;
function withStartBitrate(parameters: string | undefined): string {
  const rest = (parameters ?? "").split(";").filter((p) => p && !p.startsWith("x-google-start-bitrate="));
  return [...rest, `x-google-start-bitrate=${PUBLISHER_START_KBPS}`].join(";");
}

/**
 * Before answering: the node takes the DTLS server role (a=setup:passive) on transports that have
 * none yet. werift as the client waits 100 ms after its ICE connected before its first flight; the
 * browser as the client sends it the moment its own ICE check succeeds (what arrives before our
 * DTLS starts is held for it, see guardMediaSockets). A transport keeps its role on renegotiation.
 */
export function answerAsDtlsServer(pc: RTCPeerConnection): void {
  for (const transport of pc.dtlsTransports) if (transport.state === "new" && transport.role === "auto") transport.role = "server";
}

export function waitForGatheringComplete(pc: RTCPeerConnection, timeoutMs: number, scheduler: Scheduler): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const cancel = scheduler.after(timeoutMs, done);
    const sub = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === "complete") done();
    });
    function done() {
      cancel();
      sub.unSubscribe();
      resolve();
    }
  });
}

/**
 * Adds a browser's trickled candidate, unless it is one the node cannot use (see
 * isForwardableCandidate) or one the PeerConnection already took (`taken`); over the cap it is refused.
 */
export async function addRemoteCandidate(pc: RTCPeerConnection, candidate: IceCandidate, taken: RemoteCandidates): Promise<void> {
  if (!isForwardableCandidate(candidate.candidate)) return;
  const verdict = taken.admit(candidate.candidate);
  if (verdict === "over-limit") throw new LimitError("too-many-candidates", `a PeerConnection takes at most ${MAX_CANDIDATES_PER_PC} remote candidates`);
  if (verdict === "duplicate") return;
  await pc.addIceCandidate({ candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? undefined, sdpMLineIndex: candidate.sdpMLineIndex ?? undefined });
}

/** The header-extension id the m-line negotiated for RFC 6464 audio levels, if any. */
export const audioLevelExtensionId = (transceiver: RTCRtpTransceiver) => negotiatedExtensionId(transceiver, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");

function negotiatedExtensionId(transceiver: RTCRtpTransceiver, uri: string): number | undefined {
  return transceiver.headerExtensions.find((e) => e.uri === uri)?.id;
}

/**
 * werift accepts almost any text as SDP and fails later in odd ways; refuse what cannot be a
 * WebRTC session description up front, with a message that says why.
 */
export function assertWebRtcSdp(sdp: string, what: string): void {
  const missing = [
    [/^v=0\r?$/m, "v=0"],
    [/^m=(audio|video|application) /m, "an m= line"],
    [/^a=ice-ufrag:/m, "a=ice-ufrag"],
    [/^a=fingerprint:/m, "a=fingerprint"],
  ].filter(([re]) => !(re as RegExp).test(sdp)).map(([, name]) => name);
  if (missing.length) throw new Error(`${what} is not a WebRTC session description (missing ${missing.join(", ")})`);
}

interface Datagrams {
  onData: (data: Buffer, addr: [string, number]) => void;
}
interface IceInternals {
  localUsername: string;
  localPassword: string;
  checkList: Array<{ state: number; requestsReceived: number; remoteAddr: [string, number] }>;
  protocols: Array<{ transport?: Datagrams }>;
}
/** werift's DtlsSocket, as far as the guard reads it: whether the handshake is done, its epoch, its AEAD cipher. */
interface DtlsSocketInternals {
  connected: boolean;
  dtls: { epoch: number };
  cipher: {
    decryptPacket(pkt: {
      recordLayerHeader: { contentType: number; protocolVersion: { major: number; minor: number }; epoch: number; sequenceNumber: number };
      fragment: Buffer;
    }): Buffer;
  };
}
const PAIR_SUCCEEDED = 3; // werift's CandidatePairState.SUCCEEDED
const guarded = new WeakSet<Datagrams>();

/**
 * True if ICE has verified `addr`: a check to it succeeded, or it sent us a check, which (through
 * the gate below) only an authenticated one reaches werift as.
 */
function isVerifiedPeer(ice: IceInternals, addr: [string, number]): boolean {
  for (const pair of ice.checkList) {
    const [host, port] = pair.remoteAddr;
    if (host === addr[0] && port === addr[1] && (pair.state === PAIR_SUCCEEDED || pair.requestsReceived > 0)) return true;
  }
  return false;
}

/** A werift DTLS session (RTCDtlsTransport.dtls, absent until the handshake starts) as the guard sees it (see dtls-guard.ts). */
export function dtlsSessionView(session: DtlsSocket | undefined): DtlsSessionView {
  const socket = session as unknown as DtlsSocketInternals | undefined;
  if (!socket?.connected) return { established: false };
  return {
    established: true,
    epoch: socket.dtls.epoch,
    open: (record) => {
      try {
        return socket.cipher.decryptPacket({ recordLayerHeader: { contentType: record.contentType, protocolVersion: record.version, epoch: record.epoch, sequenceNumber: record.sequenceNumber }, fragment: record.fragment });
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * The I/O edge of a PeerConnection's media sockets, where two guards run before werift sees a datagram.
 *
 * werift hands every non-STUN datagram on a media socket to DTLS/SRTP, whatever address it came
 * from, and a burst of random datagrams from a stranger was seen to stop forwarding on a connected
 * subscriber. As RFC 8445 asks, DTLS and RTP are taken only from addresses ICE has verified; from
 * any other address only STUN werift can authenticate passes (stun-gate.ts): anything else that
 * merely looked like STUN (first byte 0-3) used to reach DTLS when it failed to parse, and werift
 * answered, and counted as verified, checks without a valid MESSAGE-INTEGRITY.
 *
 * A verified address can be spoofed too: from it, DTLS records pass only as dtls-guard.ts allows
 * (after the handshake: the current epoch, known types, alerts that authenticate). An authenticated
 * fatal alert, which werift ignores, fails the DTLS transport here (see onDtlsSessionLost).
 *
 * This reaches into werift internals and so lives here, in the adapter; call it after gathering.
 */
export function guardMediaSockets(pc: RTCPeerConnection): void {
  for (const transport of pc.dtlsTransports) {
    const ice = transport.iceTransport.connection as unknown as IceInternals;
    let early: ReturnType<typeof earlyHandshakes> | undefined;
    for (const protocol of ice.protocols ?? []) {
      const socket = protocol.transport;
      if (!socket || guarded.has(socket)) continue;
      guarded.add(socket);
      const held = (early ??= earlyHandshakes(transport));
      const deliver = socket.onData;
      socket.onData = (data, addr) => {
        // The browser's first DTLS flight, sent as soon as its ICE check succeeded, before our DTLS
        // started (it starts once our side of ICE connects, which needs the browser's answer):
        // werift would drop it and the browser resend it only after its retransmit timer (1 s).
        if (transport.state === "new" && isDtlsHandshake(data)) return held.hold(socket, data, addr);
        if (!isVerifiedPeer(ice, addr)) {
          if (acceptFromStranger(data, { ufrag: ice.localUsername, password: ice.localPassword })) deliver(data, addr);
          return;
        }
        if (!isDtlsDatagram(data)) return deliver(data, addr);
        const session = dtlsSessionView(transport.dtls);
        const allowed = screenDtlsDatagram(data, session);
        if (!allowed) return;
        deliver(allowed, addr);
        if (carriesFatalAlert(allowed, session)) (transport as unknown as { setState(state: "failed"): void }).setState("failed");
      };
    }
  }
}

/**
 * Debug log lines for each step of a PeerConnection's transport (ICE checking and connected, DTLS
 * connecting and connected), with the time they happened: where a join's time goes (bench:meeting).
 */
export function watchTransportSteps(pc: RTCPeerConnection, role: "publisher" | "subscriber", owner: { readonly id: string; readonly roomId: string }): void {
  const fields = { room: owner.roomId, participantId: owner.id };
  pc.iceConnectionStateChange.subscribe((state) => log("debug", `${role} ice`, { ...fields, state }));
  const seen = new WeakSet<RTCDtlsTransport>();
  const watchDtls = () => {
    for (const transport of pc.dtlsTransports) {
      if (seen.has(transport)) continue;
      seen.add(transport);
      transport.onStateChange.subscribe((state) => log("debug", `${role} dtls`, { ...fields, state }));
    }
  };
  pc.signalingStateChange.subscribe(watchDtls);
  pc.iceGatheringStateChange.subscribe(watchDtls);
}

/** At most this many early DTLS datagrams are kept per transport (the latest: a ClientHello and its resends). */
const EARLY_DTLS_KEPT = 4;
const DTLS_HANDSHAKE = 22;
const isDtlsHandshake = (data: Buffer) => data.length > 13 && data[0] === DTLS_HANDSHAKE;

/**
 * Holds DTLS handshake datagrams that arrive before the transport's DTLS started, and replays them
 * through the guarded socket (which by then checks their sender as ICE verified it) the moment
 * werift starts its DTLS (it makes its DTLS server right after the state goes "connecting").
 */
function earlyHandshakes(transport: RTCDtlsTransport): { hold(socket: Datagrams, data: Buffer, addr: [string, number]): void } {
  const held: Array<{ socket: Datagrams; data: Buffer; addr: [string, number] }> = [];
  const sub = transport.onStateChange.subscribe((state) => {
    if (state === "new") return;
    sub.unSubscribe();
    const replay = held.splice(0);
    if (state === "connecting" && replay.length) queueMicrotask(() => replay.forEach(({ socket, data, addr }) => socket.onData(data, addr)));
  });
  return {
    hold(socket, data, addr) {
      held.push({ socket, data, addr });
      if (held.length > EARLY_DTLS_KEPT) held.shift();
    },
  };
}

const watched = new WeakSet<RTCDtlsTransport>();

/**
 * Calls `lost` once a PeerConnection's DTLS session is over: closed by the peer's (authenticated)
 * close_notify, or failed. werift keeps the PeerConnection "connected" then and silently stops
 * sending, so the connection state alone does not tell. Call it after each negotiation (transports
 * appear there); also fires when the node closes the PeerConnection itself, which callers ignore.
 */
export function onDtlsSessionLost(pc: RTCPeerConnection, lost: () => void): void {
  for (const transport of pc.dtlsTransports) {
    if (watched.has(transport)) continue;
    watched.add(transport);
    transport.onStateChange.subscribe((state) => {
      if (state === "closed" || state === "failed") lost();
    });
  }
}
