import { RTCPeerConnection, RTCRtpCodecParameters } from "werift";

/** UDP ports of the load generator's peers (the media nodes use 60000–61999). */
export const GENERATOR_PORTS: [number, number] = [62000, 62999];
let cursor = GENERATOR_PORTS[0];

/**
 * A werift PeerConnection that stays on 127.0.0.1 (as test/support/werift-peer.ts configures it)
 * and binds in the generator's port range. Each peer starts its search at a moving cursor, so
 * peers created one after another do not all probe the same ports first.
 */
export function generatorPeer(): RTCPeerConnection {
  const start = cursor;
  cursor = cursor >= GENERATOR_PORTS[1] - 8 ? GENERATOR_PORTS[0] : cursor + 1;
  return new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
    icePortRange: [start, GENERATOR_PORTS[1]],
    bundlePolicy: "max-bundle",
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 })],
      video: [new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }] })],
    },
  });
}

export async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return;
  await pc.iceGatheringStateChange.watch((s) => s === "complete");
}
