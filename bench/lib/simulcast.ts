/**
 * A simulcast publisher for the load generator. werift cannot send simulcast (its RTCRtpSender
 * writes one SSRC and no rid), so the generator offers it as a browser does (one video m-line with
 * `a=rid:q/h/f send` and `a=simulcast:send q;h;f`, which werift writes from the transceiver's
 * `simulcast` option) and sends each layer's RTP itself on the transceiver's DTLS transport: its own
 * SSRC, the negotiated payload type, and the mid, rid and transport-wide sequence number header
 * extensions with the negotiated ids (the transport-wide counter is werift's, shared with what its
 * own senders write).
 */
import {
  RtpPacket,
  serializeSdesMid,
  serializeSdesRTPStreamID,
  serializeTransportWideCC,
  uint16Add,
  type MediaStreamTrack,
  type RTCPeerConnection,
  type RTCRtpTransceiver,
} from "werift";
import type { Sendable } from "./media-source.ts";
import { extmapIds, MID_URI, RID_URI, TWCC_URI } from "./peer-config.ts";
import { loadClip, type Vp8Frame } from "./vp8-clip.ts";

export interface SimulcastLayer {
  rid: string;
  width: number;
  height: number;
  kbps: number;
}

/** Lowest first, as browsers list them (quarter, half, full resolution). */
export const SIMULCAST_LAYERS: SimulcastLayer[] = [
  { rid: "q", width: 160, height: 120, kbps: 150 },
  { rid: "h", width: 320, height: 240, kbps: 500 },
  { rid: "f", width: 640, height: 480, kbps: 1500 },
];

export function simulcastClips(): Vp8Frame[][] {
  return SIMULCAST_LAYERS.map((l) => loadClip(l.kbps, l.width, l.height));
}

/** Adds the simulcast video transceiver (sendonly, rids q/h/f) to `pc`, before the offer. */
export function addSimulcastVideo(pc: RTCPeerConnection, track: MediaStreamTrack): RTCRtpTransceiver {
  return pc.addTransceiver(track, { direction: "sendonly", simulcast: SIMULCAST_LAYERS.map((l) => ({ rid: l.rid, direction: "send" as const })) });
}

interface DtlsSend {
  transportSequenceNumber: number;
  sendRtp(payload: Buffer, header: RtpPacket["header"]): Promise<number>;
}

/**
 * One Sendable per layer, for MediaPump. Call after the answer is applied and the transport is
 * connected. `offerSdp` is the offer the generator sent (its extmap ids are the negotiated ones: an
 * answer echoes them).
 */
export function simulcastLayerTargets(transceiver: RTCRtpTransceiver, offerSdp: string): Sendable[] {
  const mid = transceiver.mid;
  if (!mid) throw new Error("simulcast transceiver has no mid");
  const ids = extmapIds(offerSdp, mid);
  const midId = ids.get(MID_URI);
  const ridId = ids.get(RID_URI);
  const twccId = ids.get(TWCC_URI);
  if (!midId || !ridId) throw new Error(`simulcast offer lacks mid or rid header extensions: ${[...ids.keys()].join(", ")}`);
  const payloadType = transceiver.codecs.find((c) => c.mimeType.toLowerCase() === "video/vp8")?.payloadType;
  if (payloadType === undefined) throw new Error("simulcast transceiver negotiated no VP8");
  const dtls = transceiver.sender.dtlsTransport as unknown as DtlsSend;
  const midPayload = serializeSdesMid(mid);
  return SIMULCAST_LAYERS.map((layer, i) => {
    const ssrc = (0x51c0_0000 + i * 0x1111 + Math.floor(Math.random() * 0x1000)) >>> 0;
    const ridPayload = serializeSdesRTPStreamID(layer.rid);
    const writeRtp = (rtp: RtpPacket | Buffer) => {
      const packet = Buffer.isBuffer(rtp) ? RtpPacket.deSerialize(rtp) : rtp;
      const header = packet.header;
      header.ssrc = ssrc;
      header.payloadType = payloadType;
      header.extensions = [
        { id: midId, payload: midPayload },
        { id: ridId, payload: ridPayload },
      ];
      if (twccId) {
        dtls.transportSequenceNumber = uint16Add(dtls.transportSequenceNumber, 1);
        header.extensions.push({ id: twccId, payload: serializeTransportWideCC(dtls.transportSequenceNumber) });
      }
      header.extensions.sort((a, b) => a.id - b.id);
      void dtls.sendRtp(packet.payload, header);
    };
    return { video: { writeRtp } as Pick<MediaStreamTrack, "writeRtp"> };
  });
}
