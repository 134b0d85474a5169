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
