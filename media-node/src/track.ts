import type { RTCRtpCodecParameters, RTCRtpReceiver, RtpPacket } from "werift";
import type { OutStream } from "./egress/rtp-egress.ts";
import type { TrackKind } from "@sfu/shared";
import { KeyframeThrottle } from "./forwarding/keyframe-throttle.ts";
import type { SequenceRewriter } from "./forwarding/sequence-rewriter.ts";
import { log } from "./log.ts";

const KEYFRAME_INTERVAL_MS = 500;

/**
 * One subscriber's copy of a track: the outgoing stream it goes out on and that stream's rewriter.
 * Both belong to the m-line, not to the track, so that when the m-line is reused for another track
 * the browser sees one continuous stream.
 */
export class Downstream {
  private readonly plis: { unSubscribe: () => void };

  constructor(
    readonly track: Track,
    readonly stream: OutStream,
    readonly rewriter: SequenceRewriter,
  ) {
    this.plis = stream.sender.onPictureLossIndication.subscribe(() => track.requestKeyframe(Date.now()));
  }

  /**
   * The publisher's header extensions are not forwarded: their ids mean nothing on the subscriber's
   * m-line, and the egress writes its own (transport-wide sequence numbers).
   */
  send(rtp: RtpPacket, now: number): void {
    const pos = this.rewriter.rewrite(rtp.header, now);
    if (!pos) return;
    this.stream.send(rtp.payload, rtp.header.marker, pos.sequenceNumber, pos.timestamp, now);
  }

  close(): void {
    this.plis.unSubscribe();
    this.track.removeDownstream(this);
  }
}

let sendErrors = 0;
function reportSendError(err: unknown): void {
  // Logged sparsely: a broken socket would otherwise log once per packet.
  if (sendErrors++ % 1000 === 0) log("warn", "rtp send failed", { error: String(err), count: sendErrors });
}

/** A track published by one participant, fanned out to every Downstream of it. */
export class Track {
  private readonly downstreams = new Set<Downstream>();
  private readonly keyframes = new KeyframeThrottle(KEYFRAME_INTERVAL_MS);
  private keyframeTimer: NodeJS.Timeout | undefined;
  private receiver: RTCRtpReceiver | undefined;
  private mediaSsrc: number | undefined;
  closed = false;
  /** Muted by the room (an admin): packets are dropped here, whatever the publisher sends. */
  private mutedByRoom = false;
  packetsIn = 0;

  constructor(
    readonly id: string,
    readonly kind: TrackKind,
    readonly mid: string,
    readonly publisherId: string,
    readonly codec: RTCRtpCodecParameters,
    /** For audio: where the packets' RFC 6464 levels go, and the extension id that carries them. */
    private readonly audioLevels?: { extensionId: number; report: (level: number, now: number) => void },
  ) {}

  /** The publisher's media for this track started arriving (its SSRC is known from the first packet). */
  attachSource(receiver: RTCRtpReceiver, ssrc: number): void {
    this.receiver = receiver;
    this.mediaSsrc = ssrc;
    if (this.downstreams.size > 0) this.requestKeyframe(Date.now());
  }

  forward(rtp: RtpPacket): void {
    this.packetsIn++;
    if (this.mutedByRoom) return;
    const now = Date.now();
    if (this.audioLevels) {
      for (const ext of rtp.header.extensions) {
        if (ext.id === this.audioLevels.extensionId && ext.payload.length > 0) this.audioLevels.report(ext.payload[0]! & 0x7f, now);
      }
    }
    for (const d of this.downstreams) d.send(rtp, now);
  }

  setMuted(muted: boolean): void {
    const resumed = this.mutedByRoom && !muted;
    this.mutedByRoom = muted;
    // Subscribers cannot decode the resumed video until the next keyframe.
    if (resumed) this.requestKeyframe(Date.now());
  }

  addDownstream(d: Downstream): void {
    this.downstreams.add(d);
  }

  removeDownstream(d: Downstream): void {
    this.downstreams.delete(d);
  }

  get subscriberCount(): number {
    return this.downstreams.size;
  }

  /** A subscriber needs a keyframe (it joined, or lost one). Requests to the publisher are throttled. */
  requestKeyframe(now: number): void {
    if (this.kind !== "video" || this.closed) return;
    if (this.keyframes.request(now)) return this.sendPli();
    if (this.keyframeTimer) return;
    const wait = this.keyframes.nextDueIn(now) ?? KEYFRAME_INTERVAL_MS;
    this.keyframeTimer = setTimeout(() => {
      this.keyframeTimer = undefined;
      if (this.keyframes.due(Date.now())) this.sendPli();
    }, wait);
  }

  private sendPli(): void {
    if (!this.receiver || this.mediaSsrc === undefined) return;
    this.receiver.sendRtcpPLI(this.mediaSsrc).catch(reportSendError);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.keyframeTimer);
    for (const d of [...this.downstreams]) d.close();
  }
}
