/** One visit to a room: the signaling socket, our media, and a tile per participant. */
import { assertNever, sourceOf, type ParticipantInfo, type PcRole, type ServerMessage, type SubscribedTrack, type TrackKind } from "@sfu/shared/room-protocol";
import { ChatPanel } from "./chat.ts";
import type { AppData } from "./data.ts";
import { mediaErrorWords, type Picks } from "./devices.ts";
import { errorWords } from "./error-words.ts";
import { expiredWords, tokenClaims } from "./link.ts";
import { Layout } from "./layout.ts";
import { Media } from "./media.ts";
import { showPeople } from "./people.ts";
import { qualitySample, rateQuality, type QualitySample } from "./quality.ts";
import { page, showConnection, showNotice } from "./page.ts";
import { Signaling } from "./signaling.ts";
import { publisherStats, remoteStats, selectedCandidates, type EncodingStats, type RemoteStats, type SelectedPair } from "./stats.ts";
import { ScreenShare } from "./screen-share.ts";
import { Tile } from "./tile.ts";
import { TileSizes } from "./tile-sizes.ts";
import { mark } from "./timeline.ts";

type Message<T extends ServerMessage["type"]> = Extract<ServerMessage, { type: T }>;

const STATS_INTERVAL_MS = 1000;
/** Messages handled without waiting for our own publish to be offered (see Session.#receive). */
const RECEIVING = new Set<ServerMessage["type"]>(["joined", "subscriber-offer", "participant-joined", "participant-updated", "participant-left", "active-speaker", "chat", "chat-history"]);

export interface Prejoined {
  stream: MediaStream | null;
  muted: Record<TrackKind, boolean>;
}

function showMuted(kind: TrackKind, muted: boolean): void {
  const button = kind === "audio" ? page.mic : page.cam;
  button.setAttribute("aria-pressed", String(muted));
  button.textContent = kind === "audio" ? (muted ? "Unmute mic" : "Mute mic") : muted ? "Start camera" : "Stop camera";
}

function showSharing(sharing: boolean): void {
  page.share.setAttribute("aria-pressed", String(sharing));
  page.share.textContent = sharing ? "Stop sharing" : "Share screen";
}

export class Session {
  selfId = "";
  #resumeSecret = "";
  readonly participants = new Map<string, ParticipantInfo>();
  readonly #tiles = new Map<string, Tile>();
  /** Screen shares, by participant: shown large, with the camera tiles beside them. */
  readonly #screens = new Map<string, Tile>();
  /** Each remote participant's last received-media sample, for its network quality icon. */
  readonly #qualitySamples = new Map<string, QualitySample>();
  #left = false;
  /** Our camera and mic being opened and published after `joined` (see #receive). */
  #publishing: Promise<void> = Promise.resolve();
  readonly #media: Media;
  /** Remote tiles' sizes are reported to the room (the node picks simulcast layers from them). */
  readonly #tileSizes: TileSizes;
  readonly #signaling: Signaling;
  readonly #statsTimer: ReturnType<typeof setInterval>;
  readonly #chat: ChatPanel;
  /** What is shown large: screen shares, the pinned tile, the speaker in speaker view. */
  readonly layout = new Layout({ tiles: () => this.#tiles, selfId: () => this.selfId });
  /** This visit ended without the user leaving (kicked, room full, a bad link…): the app shows the lobby. */
  onEnded: () => void = () => {};

  constructor(
    room: string,
    private readonly name: string,
    token: string,
    relayOnly: boolean,
    /** The camera and mic the pre-join screen opened, and which of them the user turned off. */
    prejoined?: Prejoined,
    /** Or: camera and mic the page started opening before it joined (a link that joins at once). */
    opening?: Promise<MediaStream | null>,
  ) {
    this.#media = new Media({
      send: (body) => this.#signaling.send(body),
      tileFor: (t) => this.#tileFor(t),
      tiles: () => [...this.#tiles.values(), ...this.#screens.values()],
      active: () => !this.#left,
      connectionChanged: () => this.#renderConnection(),
      subscriberOpened: () => this.#tileSizes.forget(),
      subscriptionsChanged: () => this.#tileSizes.schedule(),
    }, relayOnly, tokenClaims(token).canPublish);
    this.#tileSizes = new TileSizes({
      subscribed: () => this.#media.subscribed.values(),
      tileFor: (t) => this.#tileFor(t),
      send: (body) => this.#signaling.send(body),
    });
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/rooms/${encodeURIComponent(room)}/ws?token=${encodeURIComponent(token)}`;
    this.#signaling = new Signaling(url, {
      greeting: () => (this.selfId && this.#resumeSecret ? { type: "resume", participantId: this.selfId, secret: this.#resumeSecret } : { type: "join", name: this.name }),
      admitted: () => this.selfId !== "",
      refusedWords: () => {
        const { expiry } = tokenClaims(token);
        return expiry !== null && expiry <= Date.now() ? expiredWords(expiry) : "Could not join the room: the link may be invalid or expired.";
      },
      receive: (msg) => this.#receive(msg),
      ended: (reason) => this.#ended(reason),
      fail: (err) => this.#fail(err),
    });
    if (prejoined) this.#media.local.adopt(prejoined.stream, prejoined.muted);
    else if (opening) this.#media.local.adoptLater(opening);
    this.#media.local.onSwapped = () => {
      const stream = this.#media.local.stream;
      if (stream) this.#tiles.get(this.selfId)?.setStream(stream);
    };
    this.#media.screen.onEnded = () => void this.#stopSharing();
    page.share.hidden = !ScreenShare.supported;
    showSharing(false);
    this.#chat = new ChatPanel({ send: (body) => this.#signaling.send(body), selfId: () => this.selfId });
    showConnection("connecting", "connecting…");
    this.#statsTimer = setInterval(() => void this.#updateStats().catch(() => {}), STATS_INTERVAL_MS);
  }

  /** App data to and from the others, through the SFU. */
  get data(): AppData {
    return this.#media.data;
  }

  /** The rids the node last asked us to send (null: all). */
  get publishedLayers(): string[] | null {
    return this.#media.local.publishedLayers;
  }

  async toggle(kind: TrackKind): Promise<void> {
    const muted = await this.#media.local.toggle(kind);
    if (muted === null) return;
    showMuted(kind, muted);
    this.#signaling.send({ type: "set-muted", kind, muted });
  }

  /** Starts sharing our screen (the browser asks what to share), or stops. */
  async toggleShare(): Promise<void> {
    if (this.#media.screen.sharing) return this.#stopSharing();
    try {
      await this.#media.screen.start();
    } catch (err) {
      // Cancelling the browser's picker is a choice, not an error worth more than a line.
      showNotice(err instanceof DOMException && err.name === "NotAllowedError" ? "Screen sharing was cancelled." : `Cannot share the screen: ${mediaErrorWords(err)}`);
      return;
    }
    mark("screen share started");
    showSharing(true);
    await this.#media.reshare();
  }

  async #stopSharing(): Promise<void> {
    if (!this.#media.screen.sharing) return;
    this.#media.screen.stop();
    mark("screen share stopped");
    showSharing(false);
    await this.#media.reshare();
  }

  /** The browser's own "stop sharing" control, as far as the page sees it: the shared track ends. */
  endShareFromBrowser(): void {
    const track = this.#media.screen.stream?.getVideoTracks()[0];
    track?.stop();
    track?.dispatchEvent(new Event("ended"));
  }

  /** Sends `kind` from another camera or mic, without renegotiating (see LocalMedia.useDevice). */
  async useDevice(kind: TrackKind, deviceId: string): Promise<void> {
    try {
      await this.#media.local.useDevice(kind, deviceId);
    } catch (err) {
      showNotice(mediaErrorWords(err));
    }
  }

  /** The devices present changed: one in use that went away is replaced by the default one. */
  async devicesChanged(devices: readonly MediaDeviceInfo[]): Promise<void> {
    await this.#media.local.devicesChanged(devices).catch((err: unknown) => showNotice(mediaErrorWords(err)));
  }

  /** The devices in use now (for the pickers). */
  devicesInUse(): Picks {
    const local = this.#media.local;
    return { videoinput: local.deviceOf("video"), audioinput: local.deviceOf("audio") };
  }

  leave(): void {
    this.#left = true;
    this.#signaling.send({ type: "leave" });
    this.#close();
    showConnection("idle", "left the room");
  }

  /** Drops the signaling socket as a network blip would (the app reconnects and resumes). */
  dropSignaling(): void {
    this.#signaling.drop();
  }

  /** Per remote participant: decoded video and received audio. */
  remoteStats(): Promise<Record<string, RemoteStats>> {
    const others = [...this.participants.values()].filter((p) => p.id !== this.selfId);
    return remoteStats(this.#media.subscriber, others, this.#media.subscribed);
  }

  publisherStats(): Promise<EncodingStats[]> {
    return publisherStats(this.#media.publisher);
  }

  selectedCandidates(): Promise<Record<PcRole, SelectedPair | null>> {
    return selectedCandidates({ publisher: this.#media.publisher, subscriber: this.#media.subscriber });
  }

  async #receive(msg: ServerMessage): Promise<void> {
    // What touches our own media waits for our camera and mic and the publish offer; receiving
    // (the subscriber offer), the roster and chat do not.
    if (!RECEIVING.has(msg.type)) await this.#publishing;
    switch (msg.type) {
      case "joined":
        return this.#joined(msg);
      case "participant-joined":
      case "participant-updated":
        this.#upsert(msg.participant);
        return;
      case "participant-left":
        this.#drop(msg.participantId);
        return;
      case "publish-answer":
        mark("publish answer");
        await this.#media.answered(msg.sdp);
        await this.#media.local.singleLayerFallback();
        return;
      case "publish-layers":
        return this.#setPublishedLayers(msg.trackId, msg.rids);
      case "subscriber-offer":
        mark("subscriber offer");
        return this.#media.answerSubscriber(msg.sdp, msg.tracks);
      case "active-speaker":
        mark(`active speaker ${msg.participantId ?? "none"}`);
        for (const [id, tile] of this.#tiles) tile.setSpeaking(id === msg.participantId);
        this.layout.speaking(msg.participantId);
        return;
      case "force-mute":
        if (!this.#media.local.muted[msg.kind]) await this.toggle(msg.kind);
        showNotice(`An admin turned off your ${msg.kind === "audio" ? "microphone" : "camera"}.`);
        return;
      case "chat":
        return this.#chat.received(msg.message);
      case "chat-history":
        return this.#chat.history(msg.messages);
      case "error":
        return this.#error(msg);
      default:
        assertNever(msg);
    }
  }

  async #joined(msg: Message<"joined">): Promise<void> {
    mark(msg.resumed ? "resumed" : "joined");
    this.selfId = msg.participantId;
    this.#resumeSecret = msg.resumeSecret;
    // Fresh credentials on every joined: the PeerConnections made from now on use them.
    this.#media.iceServers = msg.iceServers;
    this.#signaling.admittedNow();
    const present = new Set(msg.participants.map((p) => p.id));
    for (const id of [...this.participants.keys()]) if (!present.has(id)) this.#drop(id);
    for (const p of msg.participants) this.#upsert(p);
    this.#renderConnection();
    page.controls.hidden = false;
    // Not awaited here: the subscriber offer, on its way already, must not wait for our camera.
    if (!msg.resumed) this.#publishing = this.#publish().catch((err: unknown) => this.#fail(err));
  }

  async #error(msg: Message<"error">): Promise<void> {
    if (msg.code === "media-failed" || msg.code === "media-moved") return this.#media.restart(msg.code === "media-moved");
    if (msg.inReplyTo === "publish") this.#media.publishSettled();
    // Tile sizes are a hint: a lost one costs a better layer for a while, not worth a notice.
    if (msg.inReplyTo === "subscription-prefs") return console.warn("tile sizes not applied", msg.message);
    if (msg.inReplyTo === "chat") return this.#chat.refused(msg.message);
    if (msg.code === "resume-failed") return this.#rejoin();
    if (msg.code === "room-full") return this.#ended("The room is full; try again later.");
    // One message over the rate was dropped; the room resyncs what matters (offers, tracks).
    if (msg.code === "rate-limited") return console.warn("the room dropped a message: too many at once");
    const unmuted = this.#media.local.lastUnmuted;
    if (msg.code === "forbidden" && msg.inReplyTo === "set-muted" && unmuted) {
      // An admin's mute stands: turn it back off here too.
      await this.toggle(unmuted);
      showNotice(msg.message);
      return;
    }
    showNotice(errorWords(msg.code, msg.message));
    if (msg.code === "no-media-node") showConnection("failed", "no media server available");
  }

  async #publish(): Promise<void> {
    let local: MediaStream | null;
    try {
      local = await this.#media.local.acquire();
    } catch (err) {
      showNotice(`${mediaErrorWords(err)} You are receive-only.`);
      page.mic.hidden = page.cam.hidden = true;
      // Still a publisher: for app data, and a screen share.
      return this.#media.publish();
    }
    mark("local media");
    if (local) this.#tiles.get(this.selfId)?.setStream(local);
    if (!local || local.getTracks().length === 0) {
      showNotice("No camera or microphone: you are receive-only.");
      page.mic.hidden = page.cam.hidden = true;
      return this.#media.publish();
    }
    page.mic.hidden = local.getAudioTracks().length === 0;
    page.cam.hidden = local.getVideoTracks().length === 0;
    for (const kind of ["audio", "video"] as const) showMuted(kind, this.#media.local.muted[kind]);
    await this.#media.publish();
  }

  /** Dynacast: the node says which layers of our camera or screen share someone receives. */
  async #setPublishedLayers(trackId: string, rids: string[]): Promise<void> {
    const track = this.participants.get(this.selfId)?.tracks.find((t) => t.id === trackId);
    if (!track || track.kind !== "video") return;
    if (sourceOf(track) === "screen") await this.#media.screen.setLayers(rids);
    else await this.#media.local.setVideoLayers(rids);
  }

  #tileFor(t: SubscribedTrack): Tile | undefined {
    return (t.source === "screen" ? this.#screens : this.#tiles).get(t.participantId);
  }

  /** A participant's screen tile comes with its screen track and goes with it. */
  #syncScreen(p: ParticipantInfo): void {
    const sharing = p.tracks.some((t) => sourceOf(t) === "screen");
    let tile = this.#screens.get(p.id);
    if (sharing && !tile) {
      tile = new Tile(p, p.id === this.selfId, "screen");
      this.#screens.set(p.id, tile);
      const ours = this.#media.screen.stream;
      if (tile.local && ours) tile.setStream(ours);
      else this.#tileSizes.observe(tile);
      this.#media.attachSubscribed(p.id);
    } else if (!sharing && tile) return this.#removeScreen(p.id);
    tile?.update(p);
  }

  #removeScreen(id: string): void {
    const tile = this.#screens.get(id);
    if (!tile) return;
    this.#tileSizes.unobserve(tile);
    tile.remove();
    this.#screens.delete(id);
    this.layout.apply();
  }

  /** The room no longer knows us (the grace period passed): join again as a new participant. */
  #rejoin(): void {
    mark("rejoin");
    this.#media.reset();
    for (const id of [...this.participants.keys()]) this.#drop(id);
    this.selfId = this.#resumeSecret = "";
    this.#signaling.send({ type: "join", name: this.name });
  }

  #upsert(p: ParticipantInfo): void {
    this.participants.set(p.id, p);
    let tile = this.#tiles.get(p.id);
    if (!tile) {
      tile = new Tile(p, p.id === this.selfId);
      tile.onPin = () => this.layout.togglePin(p.id);
      this.#tiles.set(p.id, tile);
      const local = this.#media.local.stream;
      if (tile.local && local) tile.setStream(local);
      else this.#tileSizes.observe(tile);
      this.#media.attachSubscribed(p.id);
    }
    tile.update(p);
    this.#syncScreen(p);
    this.layout.apply();
    showPeople(this.participants.values(), this.selfId);
    // A camera turned off or on hides or shows the tile's video without resizing it.
    if (!tile.local) this.#tileSizes.schedule();
  }

  #drop(id: string): void {
    this.participants.delete(id);
    const tile = this.#tiles.get(id);
    if (tile) {
      this.#tileSizes.unobserve(tile);
      tile.remove();
    }
    this.#tiles.delete(id);
    this.#qualitySamples.delete(id);
    this.#removeScreen(id);
    this.layout.forget(id);
    showPeople(this.participants.values(), this.selfId);
    this.#tileSizes.schedule();
  }

  #renderConnection(): void {
    const states = this.#media.connectionStates();
    if (states.includes("failed")) showConnection("failed", "media connection failed");
    else if (states.includes("disconnected")) showConnection("reconnecting", "media interrupted…");
    else if (states.length && states.every((s) => s === "connected")) showConnection("connected", "connected");
    else if (this.#signaling.open) {
      if (states.length) showConnection("connecting", "connecting media…");
      else showConnection("connected", "connected");
    }
  }

  async #updateStats(): Promise<void> {
    const stats = await this.remoteStats();
    for (const [id, s] of Object.entries(stats)) {
      const sample = qualitySample(s);
      const expectingMedia = this.participants.get(id)?.tracks.some((t) => !t.muted && sourceOf(t) !== "screen") ?? false;
      this.#tiles.get(id)?.showStats(s, rateQuality(this.#qualitySamples.get(id), sample, expectingMedia));
      this.#qualitySamples.set(id, sample);
    }
  }

  /** Kicked, replaced, the room was closed, or this app is too old: this visit is over. */
  #ended(reason: string): void {
    this.#left = true;
    this.#close();
    showNotice(reason);
    showConnection("closed", "not in a room");
    this.onEnded();
  }

  #close(): void {
    clearInterval(this.#statsTimer);
    this.#tileSizes.close();
    this.#media.close();
    this.#signaling.close();
    for (const tile of this.#tiles.values()) tile.remove();
    this.#tiles.clear();
    for (const id of [...this.#screens.keys()]) this.#removeScreen(id);
    showSharing(false);
    this.layout.setView("grid");
    page.people.hidden = true;
    page.peopleToggle.setAttribute("aria-expanded", "false");
    page.controls.hidden = true;
    page.invitePanel.hidden = true;
    this.#chat.close();
  }

  #fail(err: unknown): void {
    console.error(err);
    showNotice(String(err instanceof Error ? err.message : err));
  }
}
