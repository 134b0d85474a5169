/** Our camera and mic: acquiring them, sending them (simulcast), pausing unneeded layers, muting, switching devices. */
import type { TrackKind } from "@sfu/shared/room-protocol";
import { constraintsFor, inputKind, loadPicks, present } from "./devices.ts";

/**
 * Simulcast: three VP8 layers of the camera (160×120, 320×240, 640×480 from a 640×480 camera),
 * lowest first. The media node forwards each subscriber the layer that fits its tile and tells us
 * (publish-layers) which ones nobody needs, which we then pause.
 */
const SIMULCAST: RTCRtpEncodingParameters[] = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

/** Keeps a simulcast sender's layers named in `rids` on and pauses the others (null: all on). */
export async function sendLayers(sender: RTCRtpSender, rids: string[] | null): Promise<void> {
  const params = sender.getParameters();
  if (!params.encodings || params.encodings.length < 2) return;
  let changed = false;
  for (const e of params.encodings) {
    const active = rids === null || (e.rid !== undefined && rids.includes(e.rid));
    if (e.active !== active) [e.active, changed] = [active, true];
  }
  if (changed) await sender.setParameters(params);
}

const isKind = (kind: string): kind is TrackKind => kind === "audio" || kind === "video";

export class LocalMedia {
  /** Camera and mic (either may be missing); null when there are none: receive-only. */
  stream: MediaStream | null = null;
  readonly muted: Record<TrackKind, boolean> = { audio: false, video: false };
  /** The kind last turned back on, while it stays on (an admin's mute may refuse it). */
  lastUnmuted: TrackKind | null = null;
  /** The rids the node last asked us to send (null: all). */
  publishedLayers: string[] | null = null;
  #senders: Partial<Record<TrackKind, RTCRtpSender>> = {};
  /** A track was swapped for another device's (the local tile shows the stream again). */
  onSwapped: () => void = () => {};

  /** Camera and mic already being opened (see `adoptLater`), until `acquire` takes them. */
  #opening: Promise<MediaStream | null> | null = null;

  /** Camera and mic if possible, else whichever exists (asked once per visit), from the devices picked before. */
  async acquire(): Promise<MediaStream | null> {
    if (!this.stream) {
      const opening = this.#opening ?? getLocalMedia();
      this.#opening = null;
      this.adopt(await opening, this.muted);
    }
    return this.stream;
  }

  /**
   * Camera and mic the page started opening before it joined (a link that joins at once opens
   * them while it fetches its token and connects): `acquire` takes them instead of asking again.
   */
  adoptLater(opening: Promise<MediaStream | null>): void {
    this.#opening = opening;
  }

  /** Takes a stream already open (the pre-join screen's), starting with the kinds the user turned off muted. */
  adopt(stream: MediaStream | null, muted: Record<TrackKind, boolean>): void {
    this.stream = stream;
    Object.assign(this.muted, muted);
    for (const track of stream?.getTracks() ?? []) {
      if (isKind(track.kind)) track.enabled = !this.muted[track.kind];
      this.#watch(track);
    }
  }

  /**
   * Sends `kind` from another device (undefined: the default one) without renegotiating: the
   * sender's track is replaced, so the others keep receiving on the same stream. False when
   * nothing of that kind is being sent (adding a kind would need a new offer).
   */
  async useDevice(kind: TrackKind, deviceId: string | undefined): Promise<boolean> {
    const old = this.stream?.getTracks().find((t) => t.kind === kind);
    if (!this.stream || !old) return false;
    const fresh = (await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, deviceId) })).getTracks()[0];
    if (!fresh) return false;
    fresh.enabled = !this.muted[kind];
    this.stream.removeTrack(old);
    this.stream.addTrack(fresh);
    this.#watch(fresh);
    const sender = this.#senders[kind];
    if (sender && !this.muted[kind]) await sender.replaceTrack(fresh);
    old.onended = null;
    old.stop();
    this.onSwapped();
    return true;
  }

  /** The devices present changed: a kind whose device went away carries on with the default one. */
  async devicesChanged(devices: readonly MediaDeviceInfo[]): Promise<void> {
    for (const track of this.stream?.getTracks() ?? []) {
      if (isKind(track.kind) && !present(devices, inputKind(track.kind), track.getSettings().deviceId)) await this.useDevice(track.kind, undefined);
    }
  }

  /** The device behind the track in use for `kind`. */
  deviceOf(kind: TrackKind): string | undefined {
    return this.stream?.getTracks().find((t) => t.kind === kind)?.getSettings().deviceId;
  }

  #watch(track: MediaStreamTrack): void {
    // An unplugged device (or one the system took back) ends its track: carry on with the default one.
    track.onended = () => {
      if (isKind(track.kind)) this.useDevice(track.kind, undefined).catch((err: unknown) => console.warn("no other device", err));
    };
  }

  /** Puts our tracks on a new publisher PeerConnection (a muted one as an empty sender). */
  addTo(pc: RTCPeerConnection): void {
    if (!this.stream) return;
    for (const track of this.stream.getTracks()) {
      if (!isKind(track.kind)) continue;
      const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [this.stream] };
      const sent = this.muted[track.kind] ? null : track;
      let transceiver: RTCRtpTransceiver;
      try {
        transceiver = pc.addTransceiver(sent ?? track.kind, track.kind === "video" ? { ...init, sendEncodings: SIMULCAST } : init);
      } catch {
        // No simulcast here: one layer.
        transceiver = pc.addTransceiver(sent ?? track.kind, init);
      }
      this.#senders[track.kind] = transceiver.sender;
    }
    this.publishedLayers = null;
  }

  /** The publisher they were on is gone. */
  dropSenders(): void {
    this.#senders = {};
  }

  /** Simulcast refused (the answer kept one encoding, the lowest): send that one at full size instead. */
  async singleLayerFallback(): Promise<void> {
    const sender = this.#senders.video;
    if (!sender) return;
    const params = sender.getParameters();
    const only = params.encodings?.length === 1 ? params.encodings[0] : undefined;
    if (!only || (only.scaleResolutionDownBy ?? 1) === 1) return;
    only.scaleResolutionDownBy = 1;
    only.maxBitrate = SIMULCAST[SIMULCAST.length - 1]?.maxBitrate;
    await sender.setParameters(params);
  }

  /** Dynacast: keep sending only the simulcast layers of the camera someone receives. */
  async setVideoLayers(rids: string[]): Promise<void> {
    const sender = this.#senders.video;
    if (!sender) return;
    this.publishedLayers = rids;
    await sendLayers(sender, rids);
  }

  /**
   * Mutes or unmutes the mic or camera; the new state, or null when there is no such track. Before
   * the publisher exists (a click right after joining) only the state changes: `addTo` follows it.
   */
  async toggle(kind: TrackKind): Promise<boolean | null> {
    const track = this.stream?.getTracks().find((t) => t.kind === kind);
    if (!track) return null;
    const muted = (this.muted[kind] = !this.muted[kind]);
    this.lastUnmuted = muted ? null : kind;
    // Replacing the track with null stops sending packets entirely, unlike `enabled = false`.
    await this.#senders[kind]?.replaceTrack(muted ? null : track);
    track.enabled = !muted;
    return muted;
  }

  stop(): void {
    this.stream?.getTracks().forEach((t) => t.stop());
    // Opened early but never taken (we left before joining): closed once they are open.
    this.#opening?.then((s) => s?.getTracks().forEach((t) => t.stop()), () => undefined);
    this.#opening = null;
  }
}

/**
 * Camera and mic from the picked devices (a pick that is gone falls back to any), else whichever
 * exists. The error of the first attempt (e.g. NotAllowedError: the user blocked them) is thrown
 * when nothing could be opened, so the caller can say why.
 */
export async function getLocalMedia(): Promise<MediaStream | null> {
  if (!navigator.mediaDevices?.getUserMedia) return null;
  const picks = loadPicks();
  const video = constraintsFor("video", picks.videoinput);
  const audio = constraintsFor("audio", picks.audioinput);
  const anyVideo = constraintsFor("video", undefined);
  let first: unknown;
  for (const constraints of [{ audio, video }, { audio: true, video: anyVideo }, { audio: false, video: anyVideo }, { audio: true, video: false }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      first ??= err;
      if (err instanceof DOMException && err.name === "NotAllowedError") break;
    }
  }
  if (first instanceof DOMException && first.name === "NotFoundError") return null;
  throw first;
}
