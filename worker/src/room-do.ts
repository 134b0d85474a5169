import { DurableObject } from "cloudflare:workers";
import {
  assertNever,
  parseClientMessage,
  RoomTokenClaims,
  type ClientMessage,
  type ErrorCode,
  type IceCandidate,
  type NodeAction,
  type NodeRequest,
  type NodeResponse,
  type PcRole,
  type TrackKind,
} from "@sfu/shared";
import { allowPrivateCandidates, iceServersFor, maxParticipantsPerRoom, registry, resumeGraceMs, type Env } from "./env.ts";
import { callNode, NodeCallError } from "./node-link.ts";
import { reconcileHeldRoom, type Expectation } from "./reconcile.ts";
import { RetiringNode } from "./retiring-node.ts";
import { RoomLock } from "./room-lock.ts";
import { RoomCore, type RoomSettings } from "./room/core.ts";
import { ABUSIVE, LEFT, nodeRefusal, RoomError, type Connection, type Effect, type PlacedNode, type RoomSummary } from "./room/model.ts";
import { PendingPreferences } from "./room/pending-preferences.ts";
import { RoomSockets } from "./room/sockets.ts";
import { RoomStore } from "./room/store.ts";

const RATE_LIMITED = { ok: false, code: "rate-limited", message: "too many messages; slow down" } as const;

/** The worker passes the verified room-token claims to the room in this header. */
export const CLAIMS_HEADER = "x-sfu-claims";
/** ... and where the caller is, for placement. */
export const REGION_HEADER = "x-sfu-caller-region";

const roomSettings = (env: Env): RoomSettings => ({ maxParticipants: maxParticipantsPerRoom(env), allowPrivateCandidates: allowPrivateCandidates(env) });

/**
 * One room on the platform: its sockets, storage, node calls and the ordering of its work. What the
 * room decides is RoomCore's (room/core.ts); this object feeds it inputs and carries out its effects.
 */
export class RoomDO extends DurableObject<Env> {
  private core: RoomCore;
  private readonly store: RoomStore;
  private readonly sockets: RoomSockets;
  /** Orders the room's work: per participant, and the whole room for moves and removals. */
  private readonly lock = new RoomLock();
  /** The node the room just left while it still forwards (a drain), until everyone has republished. */
  private retiring: RetiringNode | null = null;
  /** A placement in progress, shared by joins that arrive while the room has no node. */
  private placing: Promise<PlacedNode> | null = null;
  /** Per participant, tile sizes on their way to the node (one call at a time, the latest per track). */
  private readonly preferences = new Map<string, PendingPreferences>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage);
    this.sockets = new RoomSockets(ctx);
    // Replaced by the stored room before any event is delivered (blockConcurrencyWhile).
    this.core = new RoomCore({ room: null, participants: [] }, resumeGraceMs(env), roomSettings(env));
    void ctx.blockConcurrencyWhile(async () => {
      const restored = RoomCore.restore(await this.store.load(), this.sockets.connected(), Date.now(), resumeGraceMs(env), roomSettings(env));
      this.core = restored.core;
      await this.perform(restored.effects);
    });
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: "expected a WebSocket upgrade" }, { status: 426 });
    }
    const name = request.headers.get("x-room-name");
    const claims = RoomTokenClaims.safeParse(JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null"));
    if (!name || !claims.success) return Response.json({ error: "missing room name or token claims" }, { status: 400 });
    await this.perform(this.core.opened(name));
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.sockets.accept(server, { connectionId: crypto.randomUUID(), participantId: null, claims: claims.data, region: request.headers.get(REGION_HEADER) ?? undefined });
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    // What a socket sends once it is closing, or once it sent too many bad frames, is not handled.
    if (ws.readyState !== WebSocket.OPEN || this.sockets.abusive(ws)) return;
    // An empty room's storage is deleted; a socket that outlived it (hibernation) brings the record back.
    if (!this.core.name) await this.perform(this.core.opened(this.sockets.connection(ws).claims.room));
    const now = Date.now();
    const parsed = this.sockets.admitFrame(ws, now) ? parseClientMessage(raw) : RATE_LIMITED;
    if (!parsed.ok) {
      const abusive = this.sockets.badFrame(ws, now);
      await this.perform(this.core.refused(this.sockets.connection(ws), parsed), ws);
      if (abusive) {
        // Closed at once, so the runtime stops delivering the rest of a flood; the participant it
        // speaks for then leaves in its turn (its close event queues behind that and finds it gone).
        this.sockets.close(ws, ABUSIVE.code, ABUSIVE.reason);
        await this.lock.exclusive(() => this.perform(this.core.abusive(this.sockets.connection(ws)), ws));
      }
      return;
    }
    const msg = parsed.value;
    const { participantId, connectionId, claims } = this.sockets.connection(ws);
    // Leaving changes the room as a whole (the last one out releases the node), and so does a join
    // that replaces its identity's participant; joins of one identity take turns (each may replace
    // the one before); the rest is the sender's own.
    const wholeRoom = msg.type === "leave" || (msg.type === "join" && this.core.hasIdentity(claims.sub));
    // A participant's subscriber side (its answers to the node's offers, and their candidates) has
    // a lane of its own: it must not wait behind a publish's node call (hundreds of ms), while the
    // browser already sends ICE checks and DTLS the node cannot finish without the answer.
    const subscriberSide = msg.type === "subscriber-answer" || (msg.type === "ice-candidate" && msg.target === "subscriber");
    const lane = msg.type === "join" ? `identity:${claims.sub}` : participantId && subscriberSide ? `subscriber:${participantId}` : (participantId ?? connectionId);
    const run = <T>(op: () => Promise<T>) => (wholeRoom ? this.lock.exclusive(op) : this.lock.lane(lane, op));
    await run(async () => {
      // What a socket queued before it was found abusive is dropped with it.
      if (this.sockets.abusive(ws)) return;
      try {
        await this.handle(ws, msg);
      } catch (err) {
        this.sockets.send(ws, { type: "error", ...this.plainError(err), inReplyTo: msg.type });
      }
    });
  }

  /** What a browser is told of a failure: a code and plain words; node and internal details go to the log. */
  private plainError(err: unknown): { code: ErrorCode; message: string } {
    if (err instanceof RoomError) return { code: err.code, message: err.message };
    if (err instanceof NodeCallError) {
      console.warn("media node refused", err.code, err.message);
      return { code: err.roomCode, message: nodeRefusal(err.code).plainWords };
    }
    console.error("room error", err);
    return { code: "internal", message: "something went wrong in the room; try again" };
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // Complete the closing handshake, or the browser waits for it before it sees `close`.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
    await this.disconnect(ws);
    await this.forgetIfEmpty();
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.disconnect(ws);
    await this.forgetIfEmpty();
  }

  /** Removes participants whose socket dropped longer than the grace period ago. */
  override async alarm(): Promise<void> {
    await this.lock.exclusive(async () => {
      const now = Date.now();
      for (const id of this.core.expired(now)) await this.perform(this.core.expire(id));
      await this.perform(this.core.scheduleExpiry(now));
    });
  }

  // ---- the room's node reports (through the node's object) ----

  async mediaFailed(nodeId: string, participantId: string): Promise<void> {
    await this.lock.lane(participantId, () => this.perform(this.core.mediaFailed(nodeId, participantId, this.sockets.connected())));
  }

  async activeSpeaker(nodeId: string, participantId: string | null): Promise<void> {
    await this.perform(this.core.activeSpeaker(nodeId, participantId));
  }

  async layerDemand(nodeId: string, participantId: string, trackId: string, rids: string[]): Promise<void> {
    await this.perform(this.core.layerDemand(nodeId, participantId, trackId, rids, this.sockets.connected()));
  }

  /**
   * `nodeId` reported that it holds `held` (participant ids) for this room (named `room`: this object
   * may hold no record of it): whatever the room no longer has there is freed (orphans, e.g. from a
   * removal the node never confirmed).
   */
  async reconcileNode(room: string, nodeId: string, held: string[]): Promise<void> {
    await this.lock.exclusive(async () => {
      const verdict = reconcileHeldRoom(held, this.expectedOn(nodeId));
      switch (verdict.type) {
        case "keep":
          return;
        case "close-room":
          await callNode(this.env, nodeId, "close-room", { room }).catch((err: Error) => console.warn("media node did not close an orphan room", err.message));
          return;
        case "remove":
          for (const id of verdict.participantIds) await this.freeOnNode({ id: nodeId }, id);
          return;
        default:
          return assertNever(verdict);
      }
    });
  }

  /** What `nodeId` should hold for this room: everyone, on the room's node; those not yet freed, on the node it is leaving. */
  private expectedOn(nodeId: string): Expectation {
    if (this.core.node?.id === nodeId) return new Set(this.core.participantIds);
    if (this.retiring && !this.retiring.finished && this.retiring.node.id === nodeId) return new Set(this.retiring.holding);
    return null;
  }

  /** The room emptied: nothing of it is left in storage (a later join starts it afresh). */
  private async forgetIfEmpty(): Promise<void> {
    if (this.core.isEmpty && !this.core.node) await this.store.clear();
  }

  /** The room must leave `nodeId` (it went away, or is being drained; see RoomCore.moved). */
  async moveOffNode(nodeId: string, why: string, opts: { stillForwarding?: boolean } = {}): Promise<void> {
    await this.lock.exclusive(async () => {
      const leaving = this.core.leaveNode(nodeId);
      if (!leaving) return;
      await this.perform(leaving.effects);
      if (!leaving.needsNode) return;
      try {
        await this.ensureNode();
      } catch (err) {
        if (!(err instanceof RoomError)) throw err;
        await this.perform(this.core.stranded(err.code, why));
        return;
      }
      await this.perform(this.core.moved(leaving.from, why, opts.stillForwarding ?? false));
    });
  }

  // ---- admin operations (the worker has checked the admin token) ----

  async summary(): Promise<RoomSummary> {
    return this.core.summary(this.sockets.connected());
  }

  /** Removes a participant: its socket is closed with `kicked`, everyone else sees it leave. */
  async kick(participantId: string): Promise<boolean> {
    return this.lock.exclusive(async () => {
      const effects = this.core.kick(participantId, this.sockets.connected());
      if (!effects) return false;
      await this.perform(effects);
      return true;
    });
  }

  /** Mutes a participant's tracks of `kind` at the node (enforced) and tells its app to stop sending. */
  async adminMute(participantId: string, kind: TrackKind, muted: boolean): Promise<boolean> {
    return this.lock.lane(participantId, async () => {
      if (!this.core.has(participantId)) return false;
      if (this.core.node) await this.muteAtNode(participantId, kind, muted);
      await this.perform(this.core.adminMuted(participantId, kind, muted, this.sockets.connected()));
      return true;
    });
  }

  /** Test-only: narrows or thins a subscriber's link at the node (refused unless it runs with DEBUG_IMPAIRMENT=1). */
  async impair(participantId: string, impairment: { kbps?: number; lossPercent?: number }): Promise<boolean> {
    if (!this.core.has(participantId) || !this.core.node) return false;
    await this.callRoomNode("impair", { room: this.core.name, participantId, ...impairment });
    return true;
  }

  /** Ends the room for everyone. */
  async closeRoom(): Promise<number> {
    return this.lock.exclusive(async () => {
      const connected = [...this.sockets.connected()];
      for (const [participantId, connection] of connected) await this.perform(this.core.closeFor(participantId, connection));
      return connected.length;
    });
  }

  // ---- a browser's messages ----

  private async handle(ws: WebSocket, msg: ClientMessage): Promise<void> {
    const from = this.sockets.connection(ws);
    switch (msg.type) {
      case "join":
        return this.join(ws, from, msg.name);
      case "publish":
        return this.publish(ws, from, msg.sdp, msg.screen ?? []);
      case "subscriber-answer":
        return this.subscriberAnswer(ws, from, msg.sdp);
      case "ice-candidate":
        return this.forwardCandidate(ws, from, msg.target, msg.candidate);
      case "set-muted":
        return this.perform(this.core.setMuted(from, msg.kind, msg.muted), ws);
      case "leave":
        return this.perform(this.core.leave(from, LEFT), ws);
      case "resume":
        return this.resume(ws, from, msg.participantId, msg.secret);
      case "subscription-prefs": {
        // A subscriber's rendered tile sizes go to the node, which picks each track's simulcast layer from them.
        const participantId = this.core.admitPreferences(from);
        if (!participantId) return;
        let pending = this.preferences.get(participantId);
        if (!pending) this.preferences.set(participantId, (pending = new PendingPreferences()));
        if (pending.add(msg.tracks)) this.sendPreferencesSoon(participantId);
        return;
      }
      case "restart-media":
        return this.perform(this.core.restartMedia(from, this.sockets.connected()), ws);
      case "chat":
        return this.perform(this.core.postChat(from, msg.text, Date.now()), ws);
      default:
        return assertNever(msg);
    }
  }

  private async join(ws: WebSocket, from: Connection, name: string): Promise<void> {
    const region = this.core.admitJoin(from);
    await this.ensureNode(region);
    const id = crypto.randomUUID();
    const iceServers = await iceServersFor(this.env, id, Date.now());
    await this.perform(this.core.join(from, { id, name, resumeSecret: crypto.randomUUID(), iceServers }, Date.now(), this.sockets.connected()), ws);
  }

  private async resume(ws: WebSocket, from: Connection, participantId: string, secret: string): Promise<void> {
    this.core.admitResume(from, participantId, secret);
    const iceServers = await iceServersFor(this.env, participantId, Date.now());
    await this.perform(this.core.resume(from, participantId, secret, iceServers, this.sockets.connected()), ws);
  }

  private async publish(ws: WebSocket, from: Connection, sdp: string, screenMids: string[]): Promise<void> {
    const participantId = this.core.admitPublish(from, sdp);
    const answer = await this.callRoomNode("publish", { room: this.core.name, participantId, sdp });
    for (const kind of this.core.adminMutes(participantId)) await this.muteAtNode(participantId, kind, true);
    await this.perform(this.core.published(from, participantId, answer, screenMids), ws);
  }

  private async subscriberAnswer(ws: WebSocket, from: Connection, sdp: string): Promise<void> {
    const participantId = this.core.joinedAs(from);
    const reply = await this.callRoomNode("subscriber-answer", { room: this.core.name, participantId, sdp });
    if (reply.next) await this.perform(this.core.subscriberOffered(from.connectionId, reply.next), ws);
  }

  /**
   * Candidates go to the node without holding up the room's queue: they are many, order among them
   * does not matter, and the offer they belong to has already been handled by the time they arrive.
   */
  private forwardCandidate(ws: WebSocket, from: Connection, target: PcRole, candidate: IceCandidate): void {
    const participantId = this.core.admitCandidate(from, target, candidate);
    if (!participantId) return;
    this.callRoomNode("candidate", { room: this.core.name, participantId, target, candidate })
      .catch((err: unknown) => this.sockets.send(ws, { type: "error", ...this.plainError(err), inReplyTo: "ice-candidate" }));
  }

  /**
   * Queues a send of the participant's waiting tile sizes in its lane, behind the messages already
   * there: those only add to what waits, so the send carries them all.
   */
  private sendPreferencesSoon(participantId: string): void {
    this.lock.lane(participantId, () => this.sendPreferences(participantId)).catch((err: unknown) => console.error("preferences", err));
  }

  private async sendPreferences(participantId: string): Promise<void> {
    const pending = this.preferences.get(participantId);
    const tracks = pending?.take() ?? [];
    if (tracks.length === 0) {
      if (pending?.idle) this.preferences.delete(participantId);
      return;
    }
    try {
      if (this.core.has(participantId)) await this.callRoomNode("preferences", { room: this.core.name, participantId, tracks });
    } catch (err) {
      const connection = this.sockets.connected().get(participantId);
      if (connection) await this.perform([{ type: "send", connection, message: { type: "error", ...this.plainError(err), inReplyTo: "subscription-prefs" } }]);
    }
    this.sendPreferencesSoon(participantId);
  }

  /** A socket dropped without `leave`: keep the participant (and its media) for a resume. */
  private async disconnect(ws: WebSocket): Promise<void> {
    const { participantId: id } = this.sockets.connection(ws);
    if (id) await this.lock.lane(id, () => this.perform(this.core.disconnected(this.sockets.connection(ws), id, Date.now()), ws));
  }

  // ---- carrying out the core's effects ----

  /** Carries out effects in order, each finished before the next; `at` is the socket the input came on. */
  private async perform(effects: Effect[], at?: WebSocket): Promise<void> {
    for (const effect of effects) await this.performOne(effect, at);
  }

  private async performOne(effect: Effect, at: WebSocket | undefined): Promise<void> {
    switch (effect.type) {
      case "send": {
        const ws = this.sockets.find(effect.connection, at);
        if (ws) this.sockets.send(ws, effect.message);
        return;
      }
      case "broadcast":
        return this.sockets.broadcast(effect.message, effect.except);
      case "bind": {
        const ws = this.sockets.find(effect.connection, at);
        if (ws) this.sockets.bind(ws, effect.participantId);
        return;
      }
      case "close": {
        const ws = this.sockets.find(effect.connection, at);
        if (ws) this.sockets.close(ws, effect.code, effect.reason);
        return;
      }
      case "store-room":
        return this.store.putRoom(effect.room);
      case "store-participant":
        return this.store.putParticipant(effect.participant);
      case "store-chat":
        return this.store.putChat(effect.message, effect.evicted);
      case "delete-participant":
        this.preferences.delete(effect.participantId);
        return this.store.deleteParticipant(effect.participantId);
      case "set-alarm":
        return this.store.setAlarm(effect.at);
      case "free-on-node": {
        const freeing = this.freeOnNode(effect.node, effect.participantId);
        if (!effect.background) await freeing;
        return;
      }
      case "release-node":
        await registry(this.env).release(this.core.name, effect.node.id);
        return this.forgetIfEmpty();
      case "offer-subscriptions":
        return this.offerSubscriptions(effect.participantIds);
      case "retire-node":
        // Make before break: the old node keeps forwarding while everyone republishes on the new one.
        this.retiring = new RetiringNode(effect.node, effect.participantIds, effect.publisherIds, (node, ids) => {
          for (const id of ids) void this.freeOnNode(node, id);
          if (this.retiring?.finished) this.retiring = null;
        });
        return;
      case "retiring-republished":
        return this.retiring?.republished(effect.participantId);
      case "retiring-left":
        return this.retiring?.left(effect.participantId);
      default:
        return assertNever(effect);
    }
  }

  /** Asks the node for a fresh subscriber offer for each participant and sends those that changed. */
  private async offerSubscriptions(ids: string[]): Promise<void> {
    await Promise.all(
      this.core.subscribers(ids, this.sockets.connected()).map(async ({ participantId, connection }) => {
        let effects: Effect[];
        try {
          const reply = await this.callRoomNode("subscriber-offer", { room: this.core.name, participantId });
          effects = reply.status === "offer" ? this.core.subscriberOffered(connection, reply) : [];
        } catch (err) {
          const code = err instanceof NodeCallError ? err.code : "internal";
          console.warn("no subscriber offer for", participantId, code, (err as Error).message);
          effects = this.core.subscriberOfferFailed(connection, nodeRefusal(code));
        }
        await this.perform(effects);
      }),
    );
  }

  private async freeOnNode(node: PlacedNode, participantId: string): Promise<void> {
    try {
      await callNode(this.env, node.id, "remove", { room: this.core.name, participantId });
    } catch (err) {
      // A node that is gone took the participant's media with it; any other refusal is worth a line.
      if (!(err instanceof NodeCallError && err.code === "unreachable")) console.warn("media node did not confirm removal", participantId, (err as Error).message);
    }
  }

  private muteAtNode(participantId: string, kind: TrackKind, muted: boolean): Promise<unknown> {
    return this.callRoomNode("mute", { room: this.core.name, participantId, kind, muted });
  }

  private ensureNode(preferRegion?: string): Promise<PlacedNode> {
    const node = this.core.node;
    if (node) return Promise.resolve(node);
    this.placing ??= this.place(preferRegion).finally(() => (this.placing = null));
    return this.placing;
  }

  private async place(preferRegion?: string): Promise<PlacedNode> {
    const node = await registry(this.env).place(this.core.name, Date.now(), preferRegion);
    await this.perform(this.core.placed(node));
    return this.core.requireNode();
  }

  /** A request to the room's media node (throws at once when the room has none). */
  private callRoomNode<A extends NodeAction>(action: A, body: NodeRequest<A>): Promise<NodeResponse<A>> {
    return callNode(this.env, this.core.requireNode().id, action, body);
  }
}
