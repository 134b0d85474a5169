/**
 * The room's rules, without I/O. RoomCore holds a room's state (its record and its participants) and
 * answers each input (a browser's message, a node's event, an admin's call, the expiry alarm) by
 * changing that state and returning the effects the shell must carry out, in order: messages to
 * send or broadcast, sockets to bind or close, records to store or delete, the alarm to set, node
 * calls to make. It never awaits and never reads a clock: `now` comes in with the input.
 *
 * What the room needs from elsewhere (the node's answer to a publish, a placement, TURN credentials)
 * the shell (room-do.ts) fetches between two core calls: `admitPublish` says whether the publish may
 * go to the node, the shell calls the node, and `published` decides what the answer changes. The
 * shell also keeps the ordering of that work (RoomLock) and the timers of a node the room is leaving
 * (RetiringNode). Which sockets are open is the sockets' to know; the shell passes a snapshot of it
 * (`Connected`) to the calls that need it. Refusals are thrown as RoomError.
 */
import {
  DEFAULT_MAX_PARTICIPANTS_PER_ROOM,
  isForwardableCandidate,
  isPublicCandidateAddress,
  MAX_CANDIDATES_PER_PC,
  publishOfferOverLimits,
  RemoteCandidates,
  type ErrorCode,
  type IceCandidate,
  type IceServer,
  type NodeResponse,
  type ParticipantInfo,
  type PcRole,
  type SubscriberOffer,
  sourceOf,
  type TrackInfo,
  type TrackKind,
  type TrackSource,
} from "@sfu/shared";
import {
  ABUSIVE,
  IDENTITY_REPLACED,
  KICKED,
  REPLACED,
  ROOM_CLOSED,
  RoomError,
  UNSUPPORTED_VERSION,
  type Close,
  type Connected,
  type Connection,
  type Effect,
  type Joiner,
  type ParticipantRecord,
  type PlacedNode,
  type NodeRefusal,
  type RoomRecord,
  type RoomSummary,
  type StoredRoom,
} from "./model.ts";
import { ChatLog } from "./chat-log.ts";

/** A room's configurable limits (from the worker's settings). */
export interface RoomSettings {
  /** Participants in the room, counting those within their resume grace period. */
  maxParticipants?: number;
  /**
   * Local development and tests: pass browsers' loopback and private candidates to the node
   * (production drops them; see isPublicCandidateAddress).
   */
  allowPrivateCandidates?: boolean;
}

export class RoomCore {
  private room: RoomRecord | null;
  private readonly participants = new Map<string, ParticipantRecord>();
  /**
   * Per participant, the candidates its current PeerConnections sent to the node (memory only: after
   * a restart of the object they start over, and the node keeps its own cap).
   */
  private readonly candidates = new Map<string, Record<PcRole, RemoteCandidates>>();
  /** The room's chat while anyone is in it (an emptied room's storage, chat included, is deleted). */
  private chat: ChatLog;

  constructor(
    stored: StoredRoom,
    private readonly resumeGraceMs: number,
    private readonly settings: RoomSettings = {},
  ) {
    this.room = stored.room;
    for (const p of stored.participants) this.participants.set(p.id, structuredClone(p));
    this.chat = new ChatLog(stored.chat);
  }

  /**
   * The room as storage held it when the object started. A participant whose socket did not survive
   * a restart is disconnected: it may still resume within the grace period, after which the alarm
   * removes it.
   */
  static restore(stored: StoredRoom, connected: Connected, now: number, resumeGraceMs: number, settings: RoomSettings = {}): { core: RoomCore; effects: Effect[] } {
    const core = new RoomCore(stored, resumeGraceMs, settings);
    const effects: Effect[] = [];
    for (const p of core.participants.values()) {
      if (!connected.has(p.id) && p.disconnectedAt === null) {
        p.disconnectedAt = now;
        effects.push(persist(p));
      }
    }
    return { core, effects: [...effects, ...core.scheduleExpiry(now)] };
  }

  get name(): string {
    return this.room?.name ?? "";
  }

  get node(): PlacedNode | null {
    return this.room?.node ?? null;
  }

  get isEmpty(): boolean {
    return this.participants.size === 0;
  }

  get participantIds(): string[] {
    return [...this.participants.keys()];
  }

  has(participantId: string): boolean {
    return this.participants.has(participantId);
  }

  /** A socket opened to the room named `name`: the room exists from now on. */
  opened(name: string): Effect[] {
    if (this.room) return [];
    this.room = { name, node: null };
    return [{ type: "store-room", room: this.room }];
  }

  /** A message that did not parse: the sender is told why; a wrong protocol version also closes its socket. */
  refused(from: Connection, failure: { code: ErrorCode; message: string; inReplyTo?: string }): Effect[] {
    const effects: Effect[] = [{ type: "send", connection: from.connectionId, message: { type: "error", code: failure.code, message: failure.message, inReplyTo: failure.inReplyTo } }];
    if (failure.code === "unsupported-version") effects.push({ type: "close", connection: from.connectionId, ...UNSUPPORTED_VERSION });
    return effects;
  }

  /** A socket that kept sending bad frames: its participant (if it joined) leaves, and the socket is closed with policyViolation. */
  abusive(from: Connection): Effect[] {
    return this.leave(from, ABUSIVE);
  }

  // ---- placement ----

  /** The answer to a placement: the room is on `node` now, or no node is available. */
  placed(node: PlacedNode | null): Effect[] {
    if (!node) throw new RoomError("no-media-node", "no media node is available; try again shortly");
    this.room = { ...this.requireRoom(), node };
    return [{ type: "store-room", room: this.room }];
  }

  /** The room's node, which a node call needs. */
  requireNode(): PlacedNode {
    const node = this.room?.node;
    if (!node) throw new RoomError("no-media-node", "the room has no media node");
    return node;
  }

  // ---- joining, resuming, leaving ----

  /**
   * May this connection join? Not when the room is full (a join that replaces its identity's
   * participant does not add one). Returns the region to place the room near, if it has no node.
   */
  admitJoin(from: Connection): string | undefined {
    if (from.participantId) throw new RoomError("already-joined", "this connection has already joined");
    if (this.participants.size - this.withIdentity(from.claims.sub).length >= (this.settings.maxParticipants ?? DEFAULT_MAX_PARTICIPANTS_PER_ROOM)) {
      throw new RoomError("room-full", "the room is full; try again later");
    }
    return from.region;
  }

  /** Whether a participant with this identity is in the room (connected or within its resume grace). */
  hasIdentity(identity: string): boolean {
    return this.withIdentity(identity).length > 0;
  }

  /**
   * Adds a participant (the room is placed): it gets the roster, the others hear of it. One identity
   * is one participant: one already in the room with it is replaced (as LiveKit does), i.e. it
   * leaves, its socket closed with identityReplaced, and its media freed on the node.
   */
  join(from: Connection, joiner: Joiner, now: number, connected: Connected): Effect[] {
    this.admitJoin(from);
    const replaced = this.withIdentity(from.claims.sub);
    const p: ParticipantRecord = {
      id: joiner.id,
      name: from.claims.name ?? joiner.name,
      identity: from.claims.sub,
      grants: from.claims.grants,
      tracks: [],
      joinedAt: now,
      resumeSecret: joiner.resumeSecret,
      disconnectedAt: null,
    };
    // Added before the replaced one leaves, so the room never looks empty (which would release its node).
    this.participants.set(p.id, p);
    const replacing = replaced.flatMap((old) => {
      const connection = connected.get(old.id);
      return connection ? this.leave({ connectionId: connection, participantId: old.id }, IDENTITY_REPLACED) : this.remove(old.id);
    });
    return [
      ...replacing,
      persist(p),
      { type: "bind", connection: from.connectionId, participantId: p.id },
      this.joined(from.connectionId, p, false, joiner.iceServers),
      ...this.chatHistory(from.connectionId),
      { type: "broadcast", message: { type: "participant-joined", participant: info(p) }, except: p.id },
      { type: "offer-subscriptions", participantIds: [p.id] },
    ];
  }

  /** May this connection take over participant `participantId`? Only with its secret and the same identity. */
  admitResume(from: Connection, participantId: string, secret: string): void {
    if (from.participantId) throw new RoomError("already-joined", "this connection has already joined");
    const p = this.participants.get(participantId);
    if (!p || !sameSecret(p.resumeSecret, secret) || p.identity !== from.claims.sub) {
      throw new RoomError("resume-failed", "that participant cannot be resumed; join again");
    }
  }

  /** The participant continues on this connection; a connection it still had is closed. */
  resume(from: Connection, participantId: string, secret: string, iceServers: IceServer[], connected: Connected): Effect[] {
    this.admitResume(from, participantId, secret);
    const p = this.participants.get(participantId)!;
    const effects: Effect[] = [];
    const previous = connected.get(p.id);
    if (previous) {
      effects.push({ type: "bind", connection: previous, participantId: null }, { type: "close", connection: previous, ...REPLACED });
    }
    p.disconnectedAt = null;
    effects.push(
      persist(p),
      { type: "bind", connection: from.connectionId, participantId: p.id },
      this.joined(from.connectionId, p, true, iceServers),
      // What was said while it was away (the app keeps what it has by id).
      ...this.chatHistory(from.connectionId),
      // Subscriptions may have changed while it was away.
      { type: "offer-subscriptions", participantIds: [p.id] },
    );
    return effects;
  }

  /** The connection's participant (if it joined) leaves the room; then the connection is closed with `close`. */
  leave(from: Pick<Connection, "connectionId" | "participantId">, close: Close): Effect[] {
    const id = from.participantId;
    const effects: Effect[] = id ? [{ type: "bind", connection: from.connectionId, participantId: null }, ...this.remove(id)] : [];
    return [...effects, { type: "close", connection: from.connectionId, ...close }];
  }

  /** An admin removes a connected participant; null when it is not connected. */
  kick(participantId: string, connected: Connected): Effect[] | null {
    const connection = connected.get(participantId);
    return connection ? this.leave({ connectionId: connection, participantId }, KICKED) : null;
  }

  /**
   * A socket dropped without `leave`: the participant (and its media) is kept for a resume until the
   * grace period ends. Nothing changes if the connection no longer speaks for `participantId`.
   */
  disconnected(from: Connection, participantId: string, now: number): Effect[] {
    const p = this.participants.get(participantId);
    if (!p || from.participantId !== participantId) return [];
    p.disconnectedAt = now;
    return [
      { type: "bind", connection: from.connectionId, participantId: null },
      persist(p),
      ...this.scheduleExpiry(now),
    ];
  }

  /** For the alarm: participants whose socket dropped longer than the grace period ago. */
  expired(now: number): string[] {
    return [...this.participants.values()].filter((p) => p.disconnectedAt !== null && now - p.disconnectedAt >= this.resumeGraceMs).map((p) => p.id);
  }

  /** A participant's grace period ended: it is removed. */
  expire(participantId: string): Effect[] {
    return this.remove(participantId);
  }

  /** The alarm is set for the next participant whose grace period ends, if any. */
  scheduleExpiry(now: number): Effect[] {
    const dropped = [...this.participants.values()].map((p) => p.disconnectedAt).filter((t): t is number => t !== null);
    return dropped.length ? [{ type: "set-alarm", at: Math.max(now, Math.min(...dropped) + this.resumeGraceMs) }] : [];
  }

  // ---- media ----

  /**
   * May this connection publish this offer? Returns its participant id. An offer over the media
   * limits is refused here, before the node makes a transceiver for each of its m-sections.
   */
  admitPublish(from: Connection, sdp: string): string {
    const p = this.sender(from);
    if (!p.grants.canPublish) throw new RoomError("forbidden", "your room token does not allow publishing");
    const overLimits = publishOfferOverLimits(sdp);
    if (overLimits) throw new RoomError("too-many-tracks", overLimits);
    return p.id;
  }

  /** Kinds to mute at the node again after a publish: a re-publish lands on fresh node state. */
  adminMutes(participantId: string): TrackKind[] {
    return [...(this.participants.get(participantId)?.adminMuted ?? [])];
  }

  /** The node answered a publish: the publisher gets the answer, everyone its tracks, the others new offers. */
  published(from: Connection, participantId: string, answer: NodeResponse<"publish">, screenMids: readonly string[] = []): Effect[] {
    const p = this.participants.get(participantId);
    if (!p) return [];
    const tracks = answer.tracks.map((t): TrackInfo => {
      const source: TrackSource = t.kind === "audio" ? "microphone" : screenMids.includes(t.mid) ? "screen" : "camera";
      // A track kept from the last offer keeps its state; a new camera or mic takes the one it replaces.
      const muted = p.tracks.find((old) => old.id === t.trackId && sourceOf(old) === source)?.muted
        ?? (source === "screen" ? undefined : p.tracks.find((old) => sourceOf(old) === source)?.muted)
        ?? p.adminMuted?.includes(t.kind)
        ?? false;
      return { id: t.trackId, kind: t.kind, muted, source };
    });
    return [
      { type: "retiring-republished", participantId: p.id },
      { type: "send", connection: from.connectionId, message: { type: "publish-answer", sdp: answer.sdp } },
      ...this.setTracks(p, tracks),
      { type: "offer-subscriptions", participantIds: this.otherIds(p.id) },
    ];
  }

  /** The participant the connection joined as; a connection that has not joined may do nothing but join or resume. */
  joinedAs(from: Connection): string {
    return this.sender(from).id;
  }

  /**
   * The sender's participant id if its candidate goes to the node; null if the node could not use
   * it, may not (a private address in production) or already has it. Over the cap it is refused.
   * Private addresses are dropped without an error: browsers send their LAN addresses as a matter of course.
   */
  admitCandidate(from: Connection, target: PcRole, candidate: IceCandidate): string | null {
    const p = this.sender(from);
    if (!isForwardableCandidate(candidate.candidate)) return null;
    if (!this.settings.allowPrivateCandidates && !isPublicCandidateAddress(candidate.candidate)) return null;
    let taken = this.candidates.get(p.id);
    if (!taken) this.candidates.set(p.id, (taken = { publisher: new RemoteCandidates(), subscriber: new RemoteCandidates() }));
    const verdict = taken[target].admit(candidate.candidate);
    if (verdict === "over-limit") throw new RoomError("too-many-candidates", `a ${target} connection may send at most ${MAX_CANDIDATES_PER_PC} ICE candidates`);
    return verdict === "new" ? p.id : null;
  }

  /** The sender's participant id if its tile sizes go to the node (it subscribes, and there is a node), else null. */
  admitPreferences(from: Connection): string | null {
    const p = this.sender(from);
    return p.grants.canSubscribe && this.room?.node ? p.id : null;
  }

  /** A subscriber offer (or the node's next one after an answer) for a connection. */
  subscriberOffered(connection: string, offer: SubscriberOffer): Effect[] {
    const tracks = offer.tracks.map((t) => {
      const info = this.participants.get(t.participantId)?.tracks.find((mine) => mine.id === t.trackId);
      return info ? { ...t, source: sourceOf(info) } : t;
    });
    return [{ type: "send", connection, message: { type: "subscriber-offer", sdp: offer.sdp, tracks } }];
  }

  /** The node could not make a participant's subscriber offer (what it said is for the log, not the browser). */
  subscriberOfferFailed(connection: string, refusal: NodeRefusal): Effect[] {
    return [{ type: "send", connection, message: { type: "error", code: "media-node-error", message: refusal.plainWords } }];
  }

  /** Of `ids`, who receives subscriber offers: connected participants allowed to subscribe. */
  subscribers(ids: readonly string[], connected: Connected): Array<{ participantId: string; connection: string }> {
    return ids.flatMap((id) => {
      const connection = connected.get(id);
      return connection && this.participants.get(id)?.grants.canSubscribe ? [{ participantId: id, connection }] : [];
    });
  }

  // ---- chat ----

  /** The sender posts to the room's chat: kept for later joiners, and sent to everyone, the sender too. */
  postChat(from: Connection, text: string, now: number): Effect[] {
    const p = this.sender(from);
    const { message, evicted } = this.chat.post(p, text, now);
    return [
      { type: "store-chat", message, evicted },
      { type: "broadcast", message: { type: "chat", message } },
    ];
  }

  private chatHistory(connection: string): Effect[] {
    const messages = [...this.chat.history];
    return messages.length ? [{ type: "send", connection, message: { type: "chat-history", messages } }] : [];
  }

  /** The participant mutes or unmutes its own tracks of `kind`; an admin's mute it cannot undo. */
  setMuted(from: Connection, kind: TrackKind, muted: boolean): Effect[] {
    const p = this.sender(from);
    if (!muted && p.adminMuted?.includes(kind)) throw new RoomError("forbidden", `an admin muted your ${kind}; only an admin can unmute it`);
    // The mic or camera button: a screen share is stopped by renegotiating, not muted.
    return this.setTracks(p, p.tracks.map((t) => (t.kind === kind && sourceOf(t) !== "screen" ? { ...t, muted } : t)));
  }

  /**
   * The browser saw a PeerConnection fail: both are freed on the node, and it starts over. (ICE
   * restart is not used: werift's was seen to lose the selected pair, see notes/werift-probe.md.)
   */
  restartMedia(from: Connection, connected: Connected): Effect[] {
    const p = this.sender(from);
    const node = this.room?.node;
    return [...(node ? [{ type: "free-on-node", node, participantId: p.id, background: false } as const] : []), ...this.withdrawMedia(p.id, connected)];
  }

  // ---- the node's events ----

  /**
   * The room's node reports that a participant's media failed and was freed there. The participant
   * stays in the room and starts its media afresh.
   */
  mediaFailed(nodeId: string, participantId: string, connected: Connected): Effect[] {
    if (!this.participants.has(participantId) || this.room?.node?.id !== nodeId) return [];
    return this.withdrawMedia(participantId, connected);
  }

  /** The room's node heard a new loudest participant: everyone is told, for the speaker highlight. */
  activeSpeaker(nodeId: string, participantId: string | null): Effect[] {
    if (this.room?.node?.id !== nodeId || (participantId !== null && !this.participants.has(participantId))) return [];
    return [{ type: "broadcast", message: { type: "active-speaker", participantId } }];
  }

  /**
   * Dynacast: the node found which simulcast layers of a participant's video track someone receives;
   * the participant's app keeps those encodings on and pauses the rest.
   */
  layerDemand(nodeId: string, participantId: string, trackId: string, rids: string[], connected: Connected): Effect[] {
    if (this.room?.node?.id !== nodeId) return [];
    const p = this.participants.get(participantId);
    const connection = connected.get(participantId);
    if (!p?.tracks.some((t) => t.id === trackId && t.kind === "video") || !connection) return [];
    return [{ type: "send", connection, message: { type: "publish-layers", trackId, rids } }];
  }

  /**
   * The room must leave `nodeId` (it went away, or is being drained): it is unplaced. Null when the
   * room is not on that node. `needsNode`: participants remain, so the room is placed again and
   * `moved` (or `stranded`) follows.
   */
  leaveNode(nodeId: string): { from: PlacedNode; effects: Effect[]; needsNode: boolean } | null {
    const from = this.room?.node;
    if (!this.room || !from || from.id !== nodeId) return null;
    this.room = { ...this.room, node: null };
    return { from, effects: [{ type: "store-room", room: this.room }], needsNode: this.participants.size > 0 };
  }

  /**
   * The room moved from `from` to another node, keeping everyone in it: tracks are withdrawn, and every
   * participant is told its media failed (or, when the old node is `stillForwarding`, moved), so it
   * publishes again on the new node and is offered everyone's tracks there. A node that still
   * forwards keeps everyone's media until they have republished (make before break).
   */
  moved(from: PlacedNode, why: string, stillForwarding: boolean): Effect[] {
    const everyone = [...this.participants.values()];
    const effects: Effect[] = stillForwarding
      ? [{ type: "retire-node", node: from, participantIds: everyone.map((p) => p.id), publisherIds: everyone.filter((p) => p.tracks.length > 0).map((p) => p.id) }]
      : everyone.map((p) => ({ type: "free-on-node", node: from, participantId: p.id, background: true }) as const);
    for (const p of everyone) effects.push(...this.setTracks(p, []));
    this.candidates.clear();
    effects.push({ type: "broadcast", message: { type: "error", code: stillForwarding ? "media-moved" : "media-failed", message: `${why}; the room moved to another media server: publish again` } });
    return effects;
  }

  /** The room had to leave its node and no other could take it. */
  stranded(code: ErrorCode, why: string): Effect[] {
    return [{ type: "broadcast", message: { type: "error", code, message: `${why} and no other is available` } }];
  }

  // ---- admin operations (the worker has checked the admin token) ----

  summary(connected: Connected): RoomSummary {
    return {
      room: this.name,
      node: this.node,
      participants: [...this.participants.values()].map((p) => ({ ...info(p), identity: p.identity, connected: connected.has(p.id) })),
    };
  }

  /** An admin muted (or unmuted) a participant's tracks of `kind`, already enforced at the node. */
  adminMuted(participantId: string, kind: TrackKind, muted: boolean, connected: Connected): Effect[] {
    const p = this.participants.get(participantId);
    if (!p) return [];
    const connection = connected.get(participantId);
    const effects: Effect[] = connection && muted ? [{ type: "send", connection, message: { type: "force-mute", kind } }] : [];
    p.adminMuted = muted ? [...new Set([...(p.adminMuted ?? []), kind])] : (p.adminMuted ?? []).filter((k) => k !== kind);
    return [...effects, ...this.setTracks(p, p.tracks.map((t) => (t.kind === kind ? { ...t, muted } : t)))];
  }

  /** Ends the room for everyone: each connected participant leaves, its socket closed with `roomClosed`. */
  closeFor(participantId: string, connection: string): Effect[] {
    return this.leave({ connectionId: connection, participantId }, ROOM_CLOSED);
  }

  // ---- the rules used above ----

  /** A participant's tracks change: stored, and everyone is told. */
  private setTracks(p: ParticipantRecord, tracks: ParticipantInfo["tracks"]): Effect[] {
    p.tracks = tracks;
    return [
      persist(p),
      { type: "broadcast", message: { type: "participant-updated", participant: info(p) } },
    ];
  }

  /**
   * Starts a participant's media afresh: its tracks are withdrawn from everyone, and it is told to
   * publish again and is offered its subscriptions on new PeerConnections.
   */
  private withdrawMedia(participantId: string, connected: Connected): Effect[] {
    const p = this.participants.get(participantId)!;
    const connection = connected.get(p.id);
    this.candidates.delete(p.id);
    return [
      ...this.setTracks(p, []),
      ...(connection ? [{ type: "send", connection, message: { type: "error", code: "media-failed", message: "the media connection failed; publish again" } } as const] : []),
      { type: "offer-subscriptions", participantIds: [...this.participants.keys()] },
    ];
  }

  /** Takes a participant out of the room: the others see it leave, the node frees its media. */
  private remove(id: string): Effect[] {
    if (!this.participants.delete(id)) return [];
    this.candidates.delete(id);
    this.chat.forget(id);
    if (this.participants.size === 0) this.chat = new ChatLog();
    const effects: Effect[] = [
      { type: "retiring-left", participantId: id },
      { type: "delete-participant", participantId: id },
      { type: "broadcast", message: { type: "participant-left", participantId: id } },
    ];
    const node = this.room?.node;
    if (!this.room || !node) return effects;
    effects.push({ type: "free-on-node", node, participantId: id, background: false });
    if (this.participants.size === 0) {
      // An empty room is placed afresh on its next join, on whichever node is best then.
      this.room = { ...this.room, node: null };
      effects.push({ type: "store-room", room: this.room }, { type: "release-node", node });
    } else {
      effects.push({ type: "offer-subscriptions", participantIds: [...this.participants.keys()] });
    }
    return effects;
  }

  private joined(connection: string, p: ParticipantRecord, resumed: boolean, iceServers: IceServer[]): Effect {
    return {
      type: "send",
      connection,
      message: {
        type: "joined",
        room: this.requireRoom().name,
        participantId: p.id,
        participants: [...this.participants.values()].map(info),
        resumeSecret: p.resumeSecret,
        resumed,
        iceServers,
      },
    };
  }

  private sender(from: Connection): ParticipantRecord {
    const p = from.participantId ? this.participants.get(from.participantId) : undefined;
    if (!p) throw new RoomError("not-joined", "send a join message first");
    return p;
  }

  private requireRoom(): RoomRecord {
    if (!this.room) throw new RoomError("internal", "the room has no record");
    return this.room;
  }

  private withIdentity(identity: string): ParticipantRecord[] {
    return [...this.participants.values()].filter((p) => p.identity === identity);
  }

  private otherIds(id: string): string[] {
    return [...this.participants.keys()].filter((other) => other !== id);
  }
}

/** A participant's record to store: a copy, so the effect keeps the record as it was decided. */
function persist(p: ParticipantRecord): Effect {
  return { type: "store-participant", participant: structuredClone(p) };
}

function info(p: ParticipantRecord): ParticipantInfo {
  return { id: p.id, name: p.name, tracks: p.tracks };
}

/** Compares secrets without an early exit, so timing does not reveal a matching prefix. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
