/** One of our two PeerConnections to the media node, with its ICE and connection state wired up. */
import type { IceCandidate, PcRole } from "@sfu/shared/room-protocol";
import { mark } from "./timeline.ts";

export interface PeerEvents {
  candidate(candidate: IceCandidate): void;
  connected(): void;
  /** After connected(), on every connection state change. */
  stateChanged(): void;
  /** It failed after having connected: it does not come back by itself. */
  failed(): void;
  /** It cannot connect at all: no candidate gathered, or it failed without ever connecting. */
  unreachable(): void;
}

export function openPeer(role: PcRole, config: { iceServers: RTCIceServer[]; relayOnly: boolean }, events: PeerEvents): RTCPeerConnection {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: config.iceServers, iceTransportPolicy: config.relayOnly ? "relay" : "all" });
  let gathered = 0;
  let connected = false;
  pc.onicecandidate = (e) => {
    if (!e.candidate?.candidate) return;
    gathered++;
    events.candidate({ candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
  };
  pc.onicecandidateerror = (e) => {
    console.warn(`${role} ICE candidate error ${e.errorCode} ${e.errorText} (${e.url})`);
  };
  // Not a single candidate (e.g. relay-only and the TURN server unreachable or refusing us): ICE
  // cannot succeed, and Chromium would just stay "connecting".
  pc.onicegatheringstatechange = () => {
    if (pc.iceGatheringState === "complete" && gathered === 0) events.unreachable();
  };
  // Where a connection's time goes, for the join benchmark: ICE, then DTLS on the (bundled)
  // transport, then the first packet of each received track (its track unmutes).
  pc.oniceconnectionstatechange = () => mark(`${role} ice ${pc.iceConnectionState}`);
  let watchedDtls: RTCDtlsTransport | null = null;
  pc.onsignalingstatechange = () => {
    const dtls = pc.getTransceivers().find((t) => t.receiver.transport)?.receiver.transport ?? pc.sctp?.transport ?? null;
    if (!dtls || dtls === watchedDtls) return;
    watchedDtls = dtls;
    dtls.addEventListener("statechange", () => mark(`${role} dtls ${dtls.state}`));
  };
  pc.ontrack = ({ track }) => {
    if (track.muted) track.addEventListener("unmute", () => mark(`${role} first rtp ${track.kind}`), { once: true });
  };
  pc.onconnectionstatechange = () => {
    mark(`${role} ${pc.connectionState}`);
    if (pc.connectionState === "connected") {
      connected = true;
      events.connected();
    }
    events.stateChanged();
    if (pc.connectionState === "failed") {
      if (connected) events.failed();
      else events.unreachable();
    }
  };
  return pc;
}
