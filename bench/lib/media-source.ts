/**
 * Sends the pre-encoded VP8 clip (looped) as RTP on a werift track in real time: every frame is
 * packetized per RFC 7741 (4-byte descriptor with a 15-bit PictureID, at most MAX_PAYLOAD bytes
 * per packet) and queued; a pacer sends the queue at `pacingKbps`, as a browser's pacer does
 * (libwebrtc: 2.5 × the target bitrate), so a keyframe's ~30 packets leave over ~70 ms instead of
 * in one burst (0 = no pacer). Each payload ends with an 8-byte send time (performance.now() when
 * it leaves), which full subscribers read for forwarding latency; SFUs pass the payload through
 * untouched. Optionally an Opus-shaped audio stream (50 packets/s of 80 bytes).
 */
import { performance } from "node:perf_hooks";
import { RtpHeader, RtpPacket, type MediaStreamTrack } from "werift";
import { CLIP_FPS, type Vp8Frame } from "./vp8-clip.ts";

const MAX_PAYLOAD = 1100;
const TRAILER = 8;
const CHUNK = MAX_PAYLOAD - 4 - TRAILER;

/** Where a stream's RTP goes: a werift track, or one layer of a simulcast publisher (simulcast.ts). */
export interface Sendable {
  video: Pick<MediaStreamTrack, "writeRtp">;
  audio?: Pick<MediaStreamTrack, "writeRtp">;
}

class Stream {
  videoSent = 0;
  videoBytes = 0;
  private frame = 0;
  private seq = Math.floor(Math.random() * 30000);
  private readonly queue: Array<{ chunk: Buffer; first: boolean; last: boolean; timestamp: number; pictureId: number }> = [];
  private budget = 0;
  private lastTick: number;
  private audioSeq = 0;
  private audioSent = 0;

  constructor(
    readonly target: Sendable,
    readonly clip: Vp8Frame[],
    readonly startAt: number,
    readonly audio: boolean,
    /** Pacer rate in bytes per ms; 0 sends every frame's packets back to back. */
    readonly pacingBytesPerMs: number,
  ) {
    this.lastTick = startAt;
  }

  /** Queues every frame due by `now`, sends what the pacer allows, and any audio packet due. */
  tick(now: number): void {
    while (this.startAt + (this.frame * 1000) / CLIP_FPS <= now) this.queueFrame(this.frame++);
    if (this.pacingBytesPerMs <= 0) {
      while (this.queue.length) this.sendPacket();
    } else {
      // Like libwebrtc's interval budget: unused budget does not pile up beyond one tick's worth.
      this.budget = Math.min(this.budget + (now - this.lastTick) * this.pacingBytesPerMs, 10 * this.pacingBytesPerMs);
      while (this.queue.length && this.budget > 0) this.budget -= this.sendPacket();
    }
    this.lastTick = now;
    if (this.audio && this.target.audio) {
      while (this.startAt + this.audioSent * 20 <= now) this.sendAudio();
    }
  }

  private queueFrame(n: number): void {
    const data = this.clip[n % this.clip.length]!.data;
    const pictureId = n & 0x7fff;
    const timestamp = (n * (90000 / CLIP_FPS)) >>> 0;
    for (let off = 0; off < data.length; off += CHUNK) {
      const chunk = data.subarray(off, Math.min(off + CHUNK, data.length));
      this.queue.push({ chunk, first: off === 0, last: off + CHUNK >= data.length, timestamp, pictureId });
    }
  }

  /** Sends the oldest queued packet; returns its payload size. */
  private sendPacket(): number {
    const { chunk, first, last, timestamp, pictureId } = this.queue.shift()!;
    const payload = Buffer.allocUnsafe(4 + chunk.length + TRAILER);
    payload[0] = first ? 0x90 : 0x80; // X, S on the first packet of the frame, partition 0
    payload[1] = 0x80; // I: PictureID present
    payload[2] = 0x80 | (pictureId >> 8); // M: 15-bit PictureID
    payload[3] = pictureId & 0xff;
    chunk.copy(payload, 4);
    payload.writeDoubleBE(performance.now(), 4 + chunk.length);
    this.target.video.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: this.seq, timestamp, marker: last, ssrc: 1, payloadType: 96 }), payload));
    this.seq = (this.seq + 1) & 0xffff;
    this.videoSent++;
    this.videoBytes += payload.length;
    return payload.length;
  }

  private sendAudio(): void {
    const payload = Buffer.alloc(80, 0xfc);
    this.target.audio!.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: this.audioSeq, timestamp: (this.audioSent * 960) >>> 0, ssrc: 2, payloadType: 111 }), payload));
    this.audioSeq = (this.audioSeq + 1) & 0xffff;
    this.audioSent++;
  }
}

/** One timer drives every publisher's stream; publishers start staggered so their frames interleave. */
export class MediaPump {
  private readonly streams: Stream[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `pacingKbps`: the pacer's rate per publisher (0 = none). */
  constructor(
    private readonly clip: Vp8Frame[],
    private readonly pacingKbps = 3750,
  ) {}

  /** `clip` overrides the pump's clip for this stream (a simulcast layer at another size and bitrate). */
  add(target: Sendable, opts: { audio?: boolean; clip?: Vp8Frame[] } = {}): { readonly videoSent: number; readonly videoBytes: number } {
    const stagger = (this.streams.length * 7) % Math.round(1000 / CLIP_FPS);
    const stream = new Stream(target, opts.clip ?? this.clip, performance.now() + stagger, opts.audio ?? false, this.pacingKbps / 8);
    this.streams.push(stream);
    this.timer ??= setInterval(() => {
      const now = performance.now();
      for (const s of this.streams) s.tick(now);
    }, 5);
    return stream;
  }

  remove(target: Sendable): void {
    const i = this.streams.findIndex((s) => s.target === target);
    if (i >= 0) this.streams.splice(i, 1);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.streams.length = 0;
  }
}

/** Forwarding latency of a received VP8 payload sent by MediaPump (same process, same clock). */
export function latencyOf(payload: Buffer, now = performance.now()): number {
  return now - payload.readDoubleBE(payload.length - TRAILER);
}
