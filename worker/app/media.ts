/**
 * Our media: the publisher and subscriber PeerConnections to the room's media node, the remote
 * tracks put on tiles, and starting over on fresh connections when they fail or the room moves
 * (make before break: the old ones play on until the new ones carry media).
 */
import type { ClientMessageBody, PcRole, SubscribedTrack } from "@sfu/shared/room-protocol";
import { LocalMedia } from "./local-media.ts";
import { clearNotice, showConnection, showNotice } from "./page.ts";
import { openPeer } from "./peer.ts";
import { decoding } from "./stats.ts";
import type { Tile } from "./tile.ts";
import { mark } from "./timeline.ts";

/** Longest wait before asking the room again to restart media that keeps failing to connect. */
const MAX_RESTART_BACKOFF_MS = 30_000;
/** After a media restart, the old subscriber plays on until the new one has been connected this long… */
const RETIRE_SETTLE_MS = 2000;
/** …and the old publisher (others may still watch it on the old node) at most this long. */
const RETIRE_AFTER_MS = 12_000;

export interface MediaHost {
  send(body: ClientMessageBody): void;
  tile(participantId: string): Tile | undefined;
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
  /** New tracks waiting for media before they replace the old ones… */
  readonly #held = new WeakSet<MediaStreamTrack>();
  /** …and how many of them are still waiting. */
  #holding = 0;

  constructor(
    private readonly host: MediaHost,
    private readonly relayOnly: boolean,
  ) {}

  connectionStates(): RTCPeerConnectionState[] {
    return [this.publisher, this.subscriber].flatMap((pc) => (pc ? [pc.connectionState] : []));
  }

  /** Sends our camera and mic on a new publisher PeerConnection. */
  async publish(): Promise<void> {
    const stream = this.local.stream;
    if (!stream) return;
    const pc = (this.publisher = this.#newPeer("publisher"));
    this.local.addTo(pc);
    await pc.setLocalDescription(await pc.createOffer());
    this.host.send({ type: "publish", sdp: localSdp(pc) });
    for (const kind of ["audio", "video"] as const) if (this.local.muted[kind]) this.host.send({ type: "set-muted", kind, muted: true });
  }

  async answerSubscriber(sdp: string, tracks: SubscribedTrack[]): Promise<void> {
    const previous = this.subscribed;
    this.subscribed = new Map(tracks.map((t) => [t.mid, t]));
    if (!this.subscriber) this.host.subscriberOpened();
    const pc = (this.subscriber ??= this.#newPeer("subscriber"));
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.host.send({ type: "subscriber-answer", sdp: localSdp(pc) });
    // The node reuses m-lines: a mid may now carry another participant's track, or none.
    for (const [mid, old] of previous) {
      if (this.subscribed.get(mid)?.trackId !== old.trackId) this.host.tile(old.participantId)?.removeTrack(mid);
    }
    for (const t of tracks) this.attachSubscribed(t.participantId);
    this.host.subscriptionsChanged();
  }

  /** Puts the received tracks of a participant on its tile (tile and tracks may arrive in either order). */
  attachSubscribed(participantId: string): void {
    const tile = this.host.tile(participantId);
    if (!tile || !this.subscriber) return;
    const subscriber = this.subscriber;
    for (const transceiver of subscriber.getTransceivers()) {
      const info = transceiver.mid ? this.subscribed.get(transceiver.mid) : undefined;
      if (info?.participantId !== participantId) continue;
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
    if (this.subscriber === subscriber && this.subscribed.get(info.mid)?.trackId === info.trackId) this.host.tile(info.participantId)?.addTrack(track, info.mid);
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
  }

  #forget(): void {
    this.publisher = this.subscriber = null;
    this.subscribed = new Map();
    this.local.dropSenders();
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
