import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  useTransportWideCC,
  type RTCRtpHeaderExtensionParameters,
} from "werift";

/** UDP ports of the load generator's peers (the media nodes use 60000–61999, mediasoup 63000–63999 by default). */
export const GENERATOR_PORTS: [number, number] = [62000, 62999];
let cursor = GENERATOR_PORTS[0];

export const TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
export const MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid";
export const RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
export const RRID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

/**
 * Browser-like negotiation, as Chrome offers and answers it (the parts that change an SFU's work):
 * VP8 with NACK, PLI and transport-cc feedback, and the transport-wide-cc header extension, so the
 * SFU numbers every packet it sends and runs its bandwidth estimation from the subscribers'
 * feedback. Publishers also offer mid and rid (simulcast layers are told apart by rid).
 * The same extension objects on audio and video: werift numbers the audio list and then the video
 * list, so sharing them gives each extension one id for the BUNDLE transport, as Chrome does.
 */
function browserLikeExtensions(): { audio: RTCRtpHeaderExtensionParameters[]; video: RTCRtpHeaderExtensionParameters[] } {
  const mid = useSdesMid();
  const twcc = useTransportWideCC();
  return { audio: [mid, twcc], video: [mid, twcc, useSdesRTPStreamId(), useRepairedRtpStreamId()] };
}

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
      audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2, rtcpFeedback: [{ type: "transport-cc" }] })],
      video: [
        new RTCRtpCodecParameters({
          mimeType: "video/VP8",
          clockRate: 90000,
          rtcpFeedback: [{ type: "transport-cc" }, { type: "nack" }, { type: "nack", parameter: "pli" }],
        }),
      ],
    },
    headerExtensions: browserLikeExtensions(),
  });
}

export async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return;
  await pc.iceGatheringStateChange.watch((s) => s === "complete");
}

/** `a=extmap` ids of the m-section with `mid` in `sdp`, by URI. */
export function extmapIds(sdp: string, mid: string): Map<string, number> {
  const ids = new Map<string, number>();
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    if (!new RegExp(`^a=mid:${mid}\\r?$`, "m").test(section)) continue;
    for (const m of section.matchAll(/^a=extmap:(\d+)(?:\/\w+)? (\S+)/gm)) ids.set(m[2]!, Number(m[1]));
  }
  return ids;
}
