import { DurableObject } from "cloudflare:workers";
import {
  assertNever,
  CloseCode,
  isForwardableCandidate,
  parseClientMessage,
  serverMessage,
  type ClientMessage,
  type NodeAction,
  type NodeRequest,
  type NodeResponse,
  type ErrorCode,
  type Grants,
  RoomTokenClaims,
  type IceCandidate,
  type PcRole,
  type ParticipantInfo,
  type ServerMessageBody,
  type SubscriberOffer,
  type TrackKind,
  type TrackPreference,
} from "@sfu/shared";
import { iceServersFor, registry, resumeGraceMs, type Env } from "./env.ts";
import { callNode, NodeCallError } from "./node-link.ts";
import { RetiringNode } from "./retiring-node.ts";
import { RoomLock } from "./room-lock.ts";

/** The media node a room is placed on. */
interface PlacedNode {
  id: string;
}

interface RoomRecord {
  name: string;
  node: PlacedNode | null;
}

interface ParticipantRecord extends ParticipantInfo {
  identity: string;
  grants: Grants;
  joinedAt: number;
  resumeSecret: string;
  /** When its socket dropped; it is removed once the resume grace period has passed. */
  disconnectedAt: number | null;
  /** Kinds an admin muted: the participant cannot unmute them, and they stay muted across re-publishes. */
  adminMuted?: TrackKind[];
}

/** Per-WebSocket state, kept with `serializeAttachment` so it survives hibernation. */
interface Attachment {
  /** Names the socket's lane until it has joined (RoomLock). */
  connectionId: string;
  participantId: string | null;
  claims: RoomTokenClaims;
  /** The caller's region: a room is placed near whoever joins it first. */
  region?: string;
}

/** The worker passes the verified room-token claims to the room in this header. */
export const CLAIMS_HEADER = "x-sfu-claims";
/** ... and where the caller is, for placement. */
export const REGION_HEADER = "x-sfu-caller-region";

class RoomError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const ROOM_KEY = "room";
const participantKey = (id: string) => `p:${id}`;

/**
 * One room: its participants and their tracks, the media node hosting it, and the signaling between
 * each browser and that node. Browser WebSockets use the hibernation API; state lives in storage.
 */
export class RoomDO extends DurableObject<Env> {
  private room: RoomRecord | null = null;
  private participants = new Map<string, ParticipantRecord>();
  /** Orders the room's work: per participant, and the whole room for moves and removals. */
  private readonly lock = new RoomLock();
  /** The node the room just left while it still forwards (a drain), until everyone has republished. */
  private retiring: RetiringNode | null = null;
  /** A placement in progress, shared by joins that arrive while the room has no node. */
  private placing: Promise<PlacedNode> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.room = (await ctx.storage.get<RoomRecord>(ROOM_KEY)) ?? null;
      const stored = await ctx.storage.list<ParticipantRecord>({ prefix: "p:" });
      // A participant whose socket did not survive a restart is gone; drop it so the roster stays true.
      // A participant whose socket did not survive a restart is disconnected: it may still resume
      // within the grace period, after which the alarm removes it.
      const live = new Set(ctx.getWebSockets().map((ws) => this.attachment(ws).participantId));
      const now = Date.now();
      for (const p of stored.values()) {
        if (!live.has(p.id) && p.disconnectedAt === null) {
          p.disconnectedAt = now;
          await ctx.storage.put(participantKey(p.id), p);
        }
        this.participants.set(p.id, p);
      }
      if ([...this.participants.values()].some((p) => p.disconnectedAt !== null)) await this.scheduleExpiry(now);
    });
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: "expected a WebSocket upgrade" }, { status: 426 });
    }
    const name = request.headers.get("x-room-name");
    const claims = RoomTokenClaims.safeParse(JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null"));
    if (!name || !claims.success) return Response.json({ error: "missing room name or token claims" }, { status: 400 });
    if (!this.room) {
      this.room = { name, node: null };
      await this.ctx.storage.put(ROOM_KEY, this.room);
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ connectionId: crypto.randomUUID(), participantId: null, claims: claims.data, region: request.headers.get(REGION_HEADER) ?? undefined } satisfies Attachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) {
      this.send(ws, { type: "error", code: parsed.code, message: parsed.message, inReplyTo: parsed.inReplyTo });
      if (parsed.code === "unsupported-version") ws.close(CloseCode.unsupportedVersion, "unsupported protocol version");
      return;
    }
    const msg = parsed.value;
    const { participantId, connectionId } = this.attachment(ws);
    // Leaving changes the room as a whole (the last one out releases the node); the rest is the sender's own.
    const run = <T>(op: () => Promise<T>) => (msg.type === "leave" ? this.lock.exclusive(op) : this.lock.lane(participantId ?? connectionId, op));
    await run(async () => {
      try {
        await this.handle(ws, msg);
      } catch (err) {
        const [code, message] = err instanceof RoomError
          ? [err.code, err.message]
          : err instanceof NodeCallError
            ? (["media-node-error", err.message] as const)
            : (["internal", "internal error"] as const);
        if (!(err instanceof RoomError) && !(err instanceof NodeCallError)) console.error("room error", err);
        this.send(ws, { type: "error", code, message, inReplyTo: msg.type });
      }
    });
  }

  /**
   * The room's node reports that a participant's media failed and was freed there. The participant
   * stays in the room; its tracks are withdrawn from everyone, and it is told to publish again and
   * is offered its subscriptions on fresh PeerConnections.
   */
  async mediaFailed(nodeId: string, participantId: string): Promise<void> {
    await this.lock.lane(participantId, async () => {
      const p = this.participants.get(participantId);
      if (!p || this.room?.node?.id !== nodeId) return;
      await this.withdrawMedia(p);
    });
  }

  /** The room's node heard a new loudest participant: tell everyone, for the speaker highlight. */
  async activeSpeaker(nodeId: string, participantId: string | null): Promise<void> {
    if (this.room?.node?.id !== nodeId || (participantId !== null && !this.participants.has(participantId))) return;
    this.broadcast({ type: "active-speaker", participantId });
  }

  /**
   * Dynacast: the node found which simulcast layers of a participant's track someone receives; the
   * participant's app keeps those encodings on and pauses the rest.
   */
  async layerDemand(nodeId: string, participantId: string, trackId: string, rids: string[]): Promise<void> {
    if (this.room?.node?.id !== nodeId) return;
    const p = this.participants.get(participantId);
    if (!p?.tracks.some((t) => t.id === trackId && t.kind === "video")) return;
    const ws = this.socketsByParticipant().get(participantId);
    if (ws) this.send(ws, { type: "publish-layers", trackId, rids });
  }

  /**
   * Starts a participant's media afresh: its tracks are withdrawn from everyone, and it is told to
   * publish again and is offered its subscriptions on new PeerConnections. (ICE restart is not
   * used: werift's was seen to lose the selected pair, see notes/werift-probe.md.)
   */
  private async withdrawMedia(p: ParticipantRecord): Promise<void> {
    const ws = this.socketsByParticipant().get(p.id);
    await this.clearTracks(p);
    if (ws) this.send(ws, { type: "error", code: "media-failed", message: "the media connection failed; publish again" });
    await this.offerSubscriptions([...this.participants.keys()]);
  }

  /** Withdraws a participant's tracks: stored, and everyone is told. */
  private async clearTracks(p: ParticipantRecord): Promise<void> {
    p.tracks = [];
    await this.ctx.storage.put(participantKey(p.id), p);
    this.broadcast({ type: "participant-updated", participant: info(p) });
  }

  private muteAtNode(participantId: string, kind: TrackKind, muted: boolean): Promise<unknown> {
    return this.callNode("mute", { room: this.room!.name, participantId, kind, muted });
  }

  /**
   * The room must leave `nodeId` (it went away, or is being drained). The room moves to another
   * node, keeping everyone in it: tracks are withdrawn, and every participant is told its media
   * failed (or, when the old node `stillForwarding`, moved), so it publishes again on the new node
   * and is offered everyone's tracks there. A node that still forwards keeps everyone's media until
   * they have republished (RetiringNode).
   */
  async moveOffNode(nodeId: string, why: string, opts: { stillForwarding?: boolean } = {}): Promise<void> {
    await this.lock.exclusive(async () => {
      if (!this.room?.node || this.room.node.id !== nodeId) return;
      const old = this.room.node;
      this.room = { ...this.room, node: null };
      await this.ctx.storage.put(ROOM_KEY, this.room);
      if (this.participants.size === 0) return;
      let node: PlacedNode | undefined;
      try {
        node = await this.ensureNode();
      } catch (err) {
        if (!(err instanceof RoomError)) throw err;
        this.broadcast({ type: "error", code: err.code, message: `${why} and no other is available` });
        return;
      }
      if (opts.stillForwarding) {
        // Make before break: the old node keeps forwarding while everyone republishes here.
        const publishers = [...this.participants.values()].filter((p) => p.tracks.length > 0).map((p) => p.id);
        this.retiring = new RetiringNode(old, [...this.participants.keys()], publishers, (node, ids) => {
          for (const id of ids) void this.removeFromNode(node, id);
          if (this.retiring?.finished) this.retiring = null;
        });
      } else {
        for (const id of this.participants.keys()) void this.removeFromNode(old, id);
      }
      for (const p of this.participants.values()) await this.clearTracks(p);
      this.broadcast({ type: "error", code: opts.stillForwarding ? "media-moved" : "media-failed", message: `${why}; the room moved to ${node.id}: publish again` });
    });
  }

  // ---- admin operations (the worker has checked the admin token) ----

  async summary(): Promise<{ room: string; node: PlacedNode | null; participants: Array<ParticipantInfo & { identity: string; connected: boolean }> }> {
    const connected = this.socketsByParticipant();
    return {
      room: this.room?.name ?? "",
      node: this.room?.node ?? null,
      participants: [...this.participants.values()].map((p) => ({ ...info(p), identity: p.identity, connected: connected.has(p.id) })),
    };
  }

  /** Removes a participant: its socket is closed with `kicked`, everyone else sees it leave. */
  async kick(participantId: string): Promise<boolean> {
    return this.lock.exclusive(async () => {
      const ws = this.socketsByParticipant().get(participantId);
      if (!ws) return false;
      await this.leave(ws);
      ws.close(CloseCode.kicked, "removed by an admin");
      return true;
    });
  }

  /** Mutes a participant's tracks of `kind` at the node (enforced) and tells its app to stop sending. */
  async adminMute(participantId: string, kind: TrackKind, muted: boolean): Promise<boolean> {
    return this.lock.lane(participantId, async () => {
      const p = this.participants.get(participantId);
      if (!p) return false;
      if (this.room?.node) await this.muteAtNode(p.id, kind, muted);
      const ws = this.socketsByParticipant().get(participantId);
      if (ws && muted) this.send(ws, { type: "force-mute", kind });
      p.adminMuted = muted ? [...new Set([...(p.adminMuted ?? []), kind])] : (p.adminMuted ?? []).filter((k) => k !== kind);
      p.tracks = p.tracks.map((t) => (t.kind === kind ? { ...t, muted } : t));
      await this.ctx.storage.put(participantKey(p.id), p);
      this.broadcast({ type: "participant-updated", participant: info(p) });
      return true;
    });
  }

  /** Test-only: narrows or thins a subscriber's link at the node (refused unless it runs with DEBUG_IMPAIRMENT=1). */
  async impair(participantId: string, impairment: { kbps?: number; lossPercent?: number }): Promise<boolean> {
    if (!this.participants.has(participantId) || !this.room?.node) return false;
    await this.callNode("impair", { room: this.room.name, participantId, ...impairment });
    return true;
  }

  /** Ends the room for everyone. */
  async closeRoom(): Promise<number> {
    return this.lock.exclusive(async () => {
      const sockets = [...this.socketsByParticipant().values()];
      for (const ws of sockets) {
        await this.leave(ws);
        ws.close(CloseCode.roomClosed, "the room was closed");
      }
      return sockets.length;
    });
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // Complete the closing handshake, or the browser waits for it before it sees `close`.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
    await this.disconnect(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.disconnect(ws);
  }

  /** Removes participants whose socket dropped longer than the grace period ago. */
  override async alarm(): Promise<void> {
    await this.lock.exclusive(async () => {
      const now = Date.now();
      const grace = resumeGraceMs(this.env);
      for (const p of [...this.participants.values()]) {
        if (p.disconnectedAt !== null && now - p.disconnectedAt >= grace) await this.removeParticipant(p.id);
      }
      await this.scheduleExpiry(now);
    });
  }

  private async scheduleExpiry(now: number): Promise<void> {
    const dropped = [...this.participants.values()].map((p) => p.disconnectedAt).filter((t): t is number => t !== null);
    if (dropped.length) await this.ctx.storage.setAlarm(Math.max(now, Math.min(...dropped) + resumeGraceMs(this.env)));
  }

  /** A socket dropped without `leave`: keep the participant (and its media) for a resume. */
  private async disconnect(ws: WebSocket): Promise<void> {
    const { participantId: id } = this.attachment(ws);
    if (id) await this.lock.lane(id, () => this.markDisconnected(ws, id));
  }

  private async markDisconnected(ws: WebSocket, id: string): Promise<void> {
    const p = this.participants.get(id);
    if (!p || this.attachment(ws).participantId !== id) return;
    this.attach(ws, null);
    p.disconnectedAt = Date.now();
    await this.ctx.storage.put(participantKey(p.id), p);
    await this.scheduleExpiry(p.disconnectedAt);
  }

  private async resume(ws: WebSocket, participantId: string, secret: string): Promise<void> {
    const { participantId: current, claims } = this.attachment(ws);
    if (current) throw new RoomError("already-joined", "this connection has already joined");
    const p = this.participants.get(participantId);
    if (!p || !sameSecret(p.resumeSecret, secret) || p.identity !== claims.sub) {
      throw new RoomError("resume-failed", "that participant cannot be resumed; join again");
    }
    const previous = this.socketsByParticipant().get(p.id);
    if (previous) {
      this.attach(previous, null);
      previous.close(CloseCode.replaced, "resumed on another connection");
    }
    p.disconnectedAt = null;
    await this.ctx.storage.put(participantKey(p.id), p);
    this.attach(ws, p.id);
    await this.sendJoined(ws, p, true);
    // Subscriptions may have changed while it was away.
    await this.offerSubscriptions([p.id]);
  }

  private async handle(ws: WebSocket, msg: ClientMessage): Promise<void> {
    switch (msg.type) {
      case "join":
        return this.join(ws, msg.name);
      case "publish":
        return this.publish(ws, msg.sdp);
      case "subscriber-answer":
        return this.subscriberAnswer(ws, msg.sdp);
      case "ice-candidate":
        return this.forwardCandidate(ws, msg.target, msg.candidate);
      case "set-muted":
        return this.setMuted(ws, msg.kind, msg.muted);
      case "leave":
        await this.leave(ws);
        ws.close(CloseCode.normal, "left");
        return;
      case "resume":
        return this.resume(ws, msg.participantId, msg.secret);
      case "subscription-prefs":
        return this.relayPreferences(ws, msg.tracks);
      case "restart-media": {
        // The browser saw a PeerConnection fail: free both on the node and start over.
        const p = this.requireParticipant(ws);
        if (this.room?.node) await this.removeFromNode(this.room.node, p.id);
        return this.withdrawMedia(p);
      }
      default:
        return assertNever(msg);
    }
  }

  private async join(ws: WebSocket, name: string): Promise<void> {
    const { participantId, claims, region } = this.attachment(ws);
    if (participantId) throw new RoomError("already-joined", "this connection has already joined");
    await this.ensureNode(region);
    const participant: ParticipantRecord = {
      id: crypto.randomUUID(),
      name: claims.name ?? name,
      identity: claims.sub,
      grants: claims.grants,
      tracks: [],
      joinedAt: Date.now(),
      resumeSecret: crypto.randomUUID(),
      disconnectedAt: null,
    };
    this.participants.set(participant.id, participant);
    await this.ctx.storage.put(participantKey(participant.id), participant);
    this.attach(ws, participant.id);
    await this.sendJoined(ws, participant, false);
    this.broadcast({ type: "participant-joined", participant: info(participant) }, participant.id);
    await this.offerSubscriptions([participant.id]);
  }

  private async publish(ws: WebSocket, sdp: string): Promise<void> {
    const p = this.requireParticipant(ws);
    if (!p.grants.canPublish) throw new RoomError("forbidden", "your room token does not allow publishing");
    const answer = await this.callNode("publish", { room: this.room!.name, participantId: p.id, sdp });
    if (!this.participants.has(p.id)) return;
    // A re-publish lands on fresh node state: apply the admin's mutes there again.
    for (const kind of p.adminMuted ?? []) await this.muteAtNode(p.id, kind, true);
    const muted = new Map(p.tracks.map((t) => [t.kind, t.muted]));
    p.tracks = answer.tracks.map((t) => ({ id: t.trackId, kind: t.kind, muted: muted.get(t.kind) ?? p.adminMuted?.includes(t.kind) ?? false }));
    await this.ctx.storage.put(participantKey(p.id), p);
    this.retiring?.republished(p.id);
    this.send(ws, { type: "publish-answer", sdp: answer.sdp });
    this.broadcast({ type: "participant-updated", participant: info(p) });
    await this.offerSubscriptions(this.otherIds(p.id));
  }

  private async subscriberAnswer(ws: WebSocket, sdp: string): Promise<void> {
    const p = this.requireParticipant(ws);
    const reply = await this.callNode("subscriber-answer", { room: this.room!.name, participantId: p.id, sdp });
    if (reply.next) this.sendOffer(ws, reply.next);
  }

  /**
   * Candidates go to the node without holding up the room's queue: they are many, order among them
   * does not matter, and the offer they belong to has already been handled by the time they arrive.
   */
  private forwardCandidate(ws: WebSocket, target: PcRole, candidate: IceCandidate): void {
    const p = this.requireParticipant(ws);
    if (!isForwardableCandidate(candidate.candidate)) return;
    this.callNode("candidate", { room: this.room!.name, participantId: p.id, target, candidate })
      .catch((err: Error) => this.send(ws, { type: "error", code: "media-node-error", message: err.message, inReplyTo: "ice-candidate" }));
  }

  /** A subscriber's rendered tile sizes go to the node, which picks each track's simulcast layer from them. */
  private async relayPreferences(ws: WebSocket, tracks: TrackPreference[]): Promise<void> {
    const p = this.requireParticipant(ws);
    if (!this.room?.node || !p.grants.canSubscribe) return;
    await this.callNode("preferences", { room: this.room!.name, participantId: p.id, tracks });
  }

  private async setMuted(ws: WebSocket, kind: TrackKind, muted: boolean): Promise<void> {
    const p = this.requireParticipant(ws);
    if (!muted && p.adminMuted?.includes(kind)) throw new RoomError("forbidden", `an admin muted your ${kind}; only an admin can unmute it`);
    p.tracks = p.tracks.map((t) => (t.kind === kind ? { ...t, muted } : t));
    await this.ctx.storage.put(participantKey(p.id), p);
    this.broadcast({ type: "participant-updated", participant: info(p) });
  }

  private async sendJoined(ws: WebSocket, p: ParticipantRecord, resumed: boolean): Promise<void> {
    const iceServers = await iceServersFor(this.env, p.id, Date.now());
    this.send(ws, {
      type: "joined",
      room: this.room!.name,
      participantId: p.id,
      participants: [...this.participants.values()].map(info),
      resumeSecret: p.resumeSecret,
      resumed,
      iceServers,
    });
  }

  private async leave(ws: WebSocket): Promise<void> {
    const { participantId: id } = this.attachment(ws);
    if (!id) return;
    this.attach(ws, null);
    await this.removeParticipant(id);
  }

  /** Takes a participant out of the room: the others see it leave, the node frees its media. */
  private async removeParticipant(id: string): Promise<void> {
    if (!this.participants.delete(id)) return;
    this.retiring?.left(id);
    await this.ctx.storage.delete(participantKey(id));
    this.broadcast({ type: "participant-left", participantId: id });
    const node = this.room?.node;
    if (!node) return;
    await this.removeFromNode(node, id);
    if (this.participants.size === 0) {
      // An empty room is placed afresh on its next join, on whichever node is best then.
      this.room = { ...this.room!, node: null };
      await this.ctx.storage.put(ROOM_KEY, this.room);
      await registry(this.env).release(this.room.name, node.id);
    } else {
      await this.offerSubscriptions([...this.participants.keys()]);
    }
  }

  private async removeFromNode(node: PlacedNode, id: string): Promise<void> {
    try {
      await callNode(this.env, node.id, "remove", { room: this.room!.name, participantId: id });
    } catch (err) {
      // A node that is gone took the participant's media with it; any other refusal is worth a line.
      if (!(err instanceof NodeCallError && err.code === "unreachable")) console.warn("media node did not confirm removal", id, (err as Error).message);
    }
  }

  /** Asks the node for a fresh subscriber offer for each participant and sends those that changed. */
  private async offerSubscriptions(ids: string[]): Promise<void> {
    const sockets = this.socketsByParticipant();
    await Promise.all(
      ids.map(async (id) => {
        const ws = sockets.get(id);
        if (!ws || !this.participants.get(id)?.grants.canSubscribe) return;
        try {
          const reply = await this.callNode("subscriber-offer", { room: this.room!.name, participantId: id });
          if (reply.status === "offer") this.sendOffer(ws, reply);
        } catch (err) {
          const message = err instanceof Error ? err.message : "subscription failed";
          this.send(ws, { type: "error", code: "media-node-error", message });
        }
      }),
    );
  }

  private sendOffer(ws: WebSocket, offer: SubscriberOffer): void {
    this.send(ws, { type: "subscriber-offer", sdp: offer.sdp, tracks: offer.tracks });
  }

  private ensureNode(preferRegion?: string): Promise<PlacedNode> {
    if (this.room!.node) return Promise.resolve(this.room!.node);
    this.placing ??= this.place(preferRegion).finally(() => (this.placing = null));
    return this.placing;
  }

  private async place(preferRegion?: string): Promise<PlacedNode> {
    const node = await registry(this.env).place(this.room!.name, Date.now(), preferRegion);
    if (!node) throw new RoomError("no-media-node", "no media node is available; try again shortly");
    this.room = { ...this.room!, node };
    await this.ctx.storage.put(ROOM_KEY, this.room);
    return node;
  }


  /** A request to the room's media node. */
  private callNode<A extends NodeAction>(action: A, body: NodeRequest<A>): Promise<NodeResponse<A>> {
    const node = this.room?.node;
    if (!node) throw new RoomError("no-media-node", "the room has no media node");
    return callNode(this.env, node.id, action, body);
  }

  private requireParticipant(ws: WebSocket): ParticipantRecord {
    const id = this.attachment(ws).participantId;
    const p = id ? this.participants.get(id) : undefined;
    if (!p) throw new RoomError("not-joined", "send a join message first");
    return p;
  }

  private otherIds(id: string): string[] {
    return [...this.participants.keys()].filter((other) => other !== id);
  }

  private attachment(ws: WebSocket): Attachment {
    return ws.deserializeAttachment() as Attachment;
  }

  /** Binds a socket to a participant (or unbinds it), keeping the rest of its attachment. */
  private attach(ws: WebSocket, participantId: string | null): void {
    ws.serializeAttachment({ ...this.attachment(ws), participantId } satisfies Attachment);
  }

  private socketsByParticipant(): Map<string, WebSocket> {
    const map = new Map<string, WebSocket>();
    for (const ws of this.ctx.getWebSockets()) {
      const id = this.attachment(ws).participantId;
      if (id) map.set(id, ws);
    }
    return map;
  }

  private send(ws: WebSocket, body: ServerMessageBody): void {
    try {
      ws.send(JSON.stringify(serverMessage(body)));
    } catch {
      // The socket closed under us; its close handler cleans up.
    }
  }

  private broadcast(body: ServerMessageBody, exceptId?: string): void {
    for (const [id, ws] of this.socketsByParticipant()) if (id !== exceptId) this.send(ws, body);
  }

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
