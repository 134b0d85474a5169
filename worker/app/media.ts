/**
 * Our media: the publisher and subscriber PeerConnections to the room's media node, the remote
 * tracks put on tiles, and starting over on fresh connections when they fail or the room moves
 * (make before break: the old ones play on until the new ones carry media).
 */
import type { ClientMessageBody, PcRole, SubscribedTrack } from "@sfu/shared/room-protocol";
import { AppData } from "./data.ts";
import { LocalMedia } from "./local-media.ts";
import { clearNotice, showConnection, showNotice } from "./page.ts";
import { openPeer } from "./peer.ts";
import { ScreenShare } from "./screen-share.ts";
import { decoding } from "./stats.ts";
import type { Tile } from "./tile.ts";
import { mark } from "./timeline.ts";

/** Longest wait before asking the room again to restart media that keeps failing to connect. */
const MAX_RESTART_BACKOFF_MS = 30_000;
/** After a media restart, the old subscriber plays on until the new one has been connected this long… */
const RETIRE_SETTLE_MS = 2000;
/** …and the old publisher (others may still watch it on the old node) at most this long. */
const RETIRE_AFTER_MS = 12_000;
/** A renegotiated publish offer whose answer has not come by then is given up (the next change offers again). */
const ANSWER_TIMEOUT_MS = 10_000;

export interface MediaHost {
  send(body: ClientMessageBody): void;
  /** The tile that shows a received track: its participant's, or the participant's screen share. */
  tileFor(track: SubscribedTrack): Tile | undefined;
  tiles(): Iterable<Tile>;
  /** Whether this visit goes on (no restart is asked for after it ended). */
  active(): boolean;
  /** A connection's state changed. */
  connectionChanged(): void;
  /** A new subscriber PeerConnection: its node state knows none of our tile sizes yet. */
  subscriberOpened(): void;
  /** The subscribed tracks changed. */
  subscriptionsChanged(): void;
}

export class Media {
  readonly local = new LocalMedia();
  readonly screen = new ScreenShare();
  readonly data = new AppData();
  publisher: RTCPeerConnection | null = null;
  subscriber: RTCPeerConnection | null = null;
  /** mid → the remote track it carries on our subscriber. */
  subscribed = new Map<string, SubscribedTrack>();
  /** From `joined`: TURN with fresh credentials, or none; the PeerConnections made from then on use them. */
  iceServers: RTCIceServer[] = [];
  #restartRequested = false;
  /** Media attempts in a row whose PeerConnections never connected (backs off the restarts). */
  #failedAttempts = 0;
  /** Counts media restarts: a delayed restart request is dropped if media restarted meanwhile. */
  #generation = 0;
  /** The plain-words notice shown while media cannot connect. */
  #notice: string | null = null;
  /**
   * The previous media connections after a restart, playing on until the new ones carry media: the
   * old subscriber until ours has connected, the old publisher (which others may still be
   * watching on the old node) until the room frees the old node or RETIRE_AFTER_MS.
   */
  #retiring: { publisher: RTCPeerConnection | null; subscriber: RTCPeerConnection | null } = { publisher: null, subscriber: null };
  #retireTimer: ReturnType<typeof setTimeout> | undefined;
  #retireSubscriberTimer: ReturnType<typeof setTimeout> | undefined;
  /** Publisher renegotiations, one at a time (each waits for its answer). */
  #negotiation: Promise<void> = Promise.resolve();
  #awaitingAnswer: (() => void) | null = null;
  /** New tracks waiting for media before they replace the old ones… */
  readonly #held = new WeakSet<MediaStreamTrack>();
  /** …and how many of them are still waiting. */
  #holding = 0;

  constructor(
    private readonly host: MediaHost,
    private readonly relayOnly: boolean,
    /** Our token lets us publish: a publisher is made even without camera or mic, for app data (and a screen). */
    private readonly canPublish: boolean,
  ) {}

  connectionStates(): RTCPeerConnectionState[] {
    return [this.publisher, this.subscriber].flatMap((pc) => (pc ? [pc.connectionState] : []));
  }

  /** Sends our camera and mic, our screen if we share it, and app data, on a new publisher PeerConnection. */
  publish(): Promise<void> {
    return this.#negotiate(() => this.#publishNew());
  }

  /** Our screen share started or stopped: the publisher offers again (or, with nothing published yet, is made). */
  reshare(): Promise<void> {
    return this.#negotiate(async () => {
      const pc = this.publisher;
      if (!pc) return this.#publishNew();
      if (!(await this.screen.applyTo(pc))) return false;
      await this.#offer(pc);
      return true;
    });
  }

  /**
   * Publish offers go one at a time: `step` (true when it sent an offer) runs once the last offer
   * was answered or refused, or ANSWER_TIMEOUT_MS passed. Resolves once `step` is done, not on the
   * answer: the answer comes through the same inbox as the message that may be waiting on this.
   */
  #negotiate(step: () => Promise<boolean>): Promise<void> {
    const done = this.#negotiation.then(step);
    this.#negotiation = done
      .then((offered) => {
        if (!offered) return;
        return new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ANSWER_TIMEOUT_MS);
          this.#awaitingAnswer = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      })
      .catch(() => undefined);
    return done.then(() => undefined);
  }

  async #publishNew(): Promise<boolean> {
    if (!this.canPublish) return false;
    const pc = (this.publisher = this.#newPeer("publisher"));
    this.data.openOn(pc);
    this.local.addTo(pc);
    await this.screen.applyTo(pc);
    await this.#offer(pc);
    for (const kind of ["audio", "video"] as const) if (this.local.muted[kind]) this.host.send({ type: "set-muted", kind, muted: true });
    return true;
  }

  async #offer(pc: RTCPeerConnection): Promise<void> {
    await pc.setLocalDescription(await pc.createOffer());
    this.host.send({ type: "publish", sdp: localSdp(pc), screen: this.screen.mids(pc) });
    mark("publish offer sent");
  }

  /** The node's answer to our last publish offer. */
  async answered(sdp: string): Promise<void> {
    try {
      if (this.publisher?.signalingState === "have-local-offer") await this.publisher.setRemoteDescription({ type: "answer", sdp });
    } finally {
      this.publishSettled();
    }
  }

  /** The last publish offer was answered or refused: the next renegotiation may go. */
  publishSettled(): void {
    this.#awaitingAnswer?.();
    this.#awaitingAnswer = null;
  }

  async answerSubscriber(sdp: string, tracks: SubscribedTrack[]): Promise<void> {
    const previous = this.subscribed;
    this.subscribed = new Map(tracks.map((t) => [t.mid, t]));
    if (!this.subscriber) this.host.subscriberOpened();
    const pc = (this.subscriber ??= this.#newPeer("subscriber"));
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.host.send({ type: "subscriber-answer", sdp: localSdp(pc) });
    mark("subscriber answer sent");
    // The node reuses m-lines: a mid may now carry another participant's track, or none.
    for (const [mid, old] of previous) {
      if (this.subscribed.get(mid)?.trackId !== old.trackId) this.host.tileFor(old)?.removeTrack(mid);
    }
    for (const t of tracks) this.attachSubscribed(t.participantId);
    this.host.subscriptionsChanged();
  }

  /** Puts the received tracks of a participant on its tiles (tiles and tracks may arrive in either order). */
  attachSubscribed(participantId: string): void {
    if (!this.subscriber) return;
    const subscriber = this.subscriber;
    for (const transceiver of subscriber.getTransceivers()) {
      const info = transceiver.mid ? this.subscribed.get(transceiver.mid) : undefined;
      if (info?.participantId !== participantId) continue;
      const tile = this.host.tileFor(info);
      if (!tile) continue;
      const track = transceiver.receiver.track;
      // While the old connection still plays, a new track takes over only once it carries media
      // (video: once frames decode, so the tile never waits on a keyframe with nothing to show).
      if (this.#retiring.subscriber && track.muted) {
        if (this.#held.has(track)) continue;
        this.#held.add(track);
        this.#holding++;
        mark(`holding ${track.kind} from ${participantId}`);
        track.addEventListener("unmute", () => void this.#takeOver(subscriber, transceiver.receiver, info), { once: true });
      } else tile.addTrack(track, info.mid);
    }
  }

  /** A held track carries media (video: decodes, or DECODE_WAIT_MS passed): it replaces the old one on its tile. */
  async #takeOver(subscriber: RTCPeerConnection, receiver: RTCRtpReceiver, info: SubscribedTrack): Promise<void> {
    const { track } = receiver;
    if (track.kind === "video") await decoding(receiver);
    mark(`media on new ${track.kind} from ${info.participantId}`);
    if (this.subscriber === subscriber && this.subscribed.get(info.mid)?.trackId === info.trackId) this.host.tileFor(info)?.addTrack(track, info.mid);
    // Every new track has taken over: the old subscriber has nothing left to show.
    if (--this.#holding === 0 && this.subscriber === subscriber) this.#retire("subscriber");
  }

  /**
   * Our media must start over on fresh PeerConnections (the room moved, or ours failed), keeping
   * our place and tiles. When the old node still forwards (a drain), make before break: the old
   * connections keep playing until the new subscriber has connected and its tracks carry media.
   */
  async restart(oldStillForwards: boolean): Promise<void> {
    mark("media restart");
    this.#restartRequested = false;
    this.#generation++;
    this.#retire("both");
    this.#retiring = { publisher: this.publisher, subscriber: this.subscriber };
    if (oldStillForwards) this.#retireTimer = setTimeout(() => this.#retire("both"), RETIRE_AFTER_MS);
    else this.#retire("both");
    this.#forget();
    await this.publish();
  }

  /** The room no longer knows us: all media connections go (we join again as someone new). */
  reset(): void {
    this.#retire("both");
    this.publisher?.close();
    this.subscriber?.close();
    this.#forget();
  }

  close(): void {
    this.#retire("both");
    this.publisher?.close();
    this.subscriber?.close();
    this.local.stop();
    this.screen.stop();
    this.publishSettled();
  }

  #forget(): void {
    this.publisher = this.subscriber = null;
    this.subscribed = new Map();
    this.local.dropSenders();
    this.screen.dropSender();
    this.publishSettled();
  }

  /**
   * Closes what a restart left playing (the old subscriber only, or both), and takes the old
   * subscriber's tracks off the tiles.
   */
  #retire(which: "subscriber" | "both"): void {
    clearTimeout(this.#retireSubscriberTimer);
    const { subscriber, publisher } = this.#retiring;
    this.#retiring = { publisher: which === "both" ? null : publisher, subscriber: null };
    this.#holding = 0;
    if (which === "both") {
      clearTimeout(this.#retireTimer);
      publisher?.close();
    }
    if (!subscriber) return;
    const tracks = subscriber.getReceivers().map((r) => r.track);
    subscriber.close();
    for (const tile of this.host.tiles()) for (const t of tracks) tile.dropTrack(t);
    mark("old media closed");
    // Tracks held back until they carried media go on the tiles now, whatever they carry.
    for (const t of this.subscribed.values()) this.attachSubscribed(t.participantId);
  }

  #newPeer(role: PcRole): RTCPeerConnection {
    const pc: RTCPeerConnection = openPeer(role, { iceServers: this.iceServers, relayOnly: this.relayOnly }, {
      candidate: (candidate) => this.host.send({ type: "ice-candidate", target: role, candidate }),
      connected: () => {
        if (role === "subscriber" && this.#retiring.subscriber) {
          clearTimeout(this.#retireSubscriberTimer);
          this.#retireSubscriberTimer = setTimeout(() => this.#retire("subscriber"), RETIRE_SETTLE_MS);
        }
        this.#failedAttempts = 0;
        if (this.#notice !== null) clearNotice(this.#notice);
        this.#notice = null;
      },
      stateChanged: () => this.host.connectionChanged(),
      // A failed PeerConnection does not come back by itself: ask the room to start our media over.
      failed: () => this.#requestRestart(pc),
      // One that never connected at all most likely cannot get through this network.
      unreachable: () => this.#unreachable(pc, role),
    });
    return pc;
  }

  /**
   * A PeerConnection of ours cannot connect (it never did): say so in plain words, then retry,
   * waiting longer each time it fails again.
   */
  #unreachable(pc: RTCPeerConnection, role: PcRole): void {
    if (pc !== this.publisher && pc !== this.subscriber) return;
    mark(`${role} unreachable`);
    const offered = this.iceServers.some((s) => [s.urls].flat().some((u) => /^turns?:/.test(u)));
    this.#notice = offered
      ? "Media cannot connect, even through the relay server. Your network may block it."
      : this.relayOnly
        ? "Media cannot connect: relay-only mode (?relay=1) needs a relay server, and this service offers none."
        : "Media cannot connect. Your network may block UDP.";
    showNotice(this.#notice);
    showConnection("failed", "media cannot connect");
    this.#requestRestart(pc);
  }

  /** Asks the room to start our media over (it answers media-failed); backs off while attempts keep failing. */
  #requestRestart(pc: RTCPeerConnection): void {
    if ((pc !== this.publisher && pc !== this.subscriber) || this.#restartRequested) return;
    this.#restartRequested = true;
    const delay = this.#failedAttempts === 0 ? 0 : Math.min(MAX_RESTART_BACKOFF_MS, 1000 * 2 ** (this.#failedAttempts - 1));
    this.#failedAttempts++;
    const generation = this.#generation;
    setTimeout(() => {
      if (this.host.active() && generation === this.#generation) this.host.send({ type: "restart-media" });
    }, delay);
  }
}

function localSdp(pc: RTCPeerConnection): string {
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new Error("no local description after setLocalDescription");
  return sdp;
}
