import { DurableObject } from "cloudflare:workers";
import {
  assertNever,
  EdgeToNode,
  MAX_INVENTORY_ROOMS,
  NODE_CALL_TIMEOUT_MS,
  NODE_PROOF_MAX_SKEW_MS,
  NODE_PROTOCOL_VERSION,
  NodeActions,
  NodeCloseCode,
  NodeToEdge,
  parseNodeMessage,
  type NodeAction,
  type HeldRoom,
  type NodeErrorCode,
  type NodeEvent,
  type NodeProof,
  type NodeRequest,
  type NodeResponse,
} from "@sfu/shared";
import { forgetAfterMs, reconnectGraceMs, registry, roomStub, staleAfterMs, type Env } from "./env.ts";
import { linkForgetAt } from "./reconcile.ts";

/** The worker passes the node's verified connect proof to its object in this header. */
export const PROOF_CLAIMS_HEADER = "x-sfu-node-proof-claims";

export type CallResult<A extends NodeAction> = { ok: true; value: NodeResponse<A> } | { ok: false; code: NodeErrorCode; message: string };

/** Kept in storage: who this object speaks for, and the socket it trusts. */
interface LinkState {
  nodeId: string;
  instanceId: string;
  /** Newest proof accepted: a proof must be newer to be used (single use). */
  lastProofAt: number;
  /** When the trusted socket closed; null while it is open. */
  closedAt: number | null;
  /** The node said hello and was welcomed. */
  live: boolean;
  /** When the node was reported down (null while it is not); the state is forgotten NODE_FORGET_AFTER_MS later. */
  downAt?: number | null;
}

/** Per-socket, kept with `serializeAttachment` so it survives hibernation. */
interface Attachment {
  instanceId: string;
  proofAt: number;
}

interface Pending {
  action: NodeAction;
  resolve: (result: CallResult<NodeAction>) => void;
  timer: ReturnType<typeof setTimeout>;
}

const STATE_KEY = "link";
/** While a node is connected, its silence is checked this often. */
const LIVENESS_CHECK_MS = 1000;
/** A heartbeat is acknowledged within this, recorded by then or not (see the heartbeat case). */
const HEARTBEAT_ACK_WITHIN_MS = 500;
/** Most inventory entries waiting to be reconciled (ten full inventory events). */
const MAX_QUEUED_INVENTORY = 10 * MAX_INVENTORY_ROOMS;

/**
 * One media node's link to the edge: holds the node's WebSocket (hibernation API), carries room
 * objects' requests to the node and its answers back (DO RPC in, socket out), and hands its events
 * to the rooms and the registry. A node that closes its socket and does not come back within
 * NODE_RECONNECT_GRACE_MS, or that goes silent for NODE_STALE_MS, is reported down.
 */
export class MediaNodeDO extends DurableObject<Env> {
  private state: LinkState | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** When the node last said anything (memory only: after a wake-up, the wake-up counts). */
  private lastHeard = Date.now();
  /** The last liveness check found the node silent (one more silent check and it is down). */
  private silentAtLastCheck = false;
  /** Inventory entries waiting to be reconciled, and whether that is under way. */
  private readonly inventory: HeldRoom[] = [];
  private reconciling = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.state = (await ctx.storage.get<LinkState>(STATE_KEY)) ?? null;
    });
  }

  /** The upgrade, after the worker verified the proof's signature and freshness. */
  override async fetch(request: Request): Promise<Response> {
    const proof = JSON.parse(request.headers.get(PROOF_CLAIMS_HEADER) ?? "null") as NodeProof | null;
    if (!proof || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: "bad-request", message: "expected a WebSocket upgrade with a verified proof" }, { status: 400 });
    }
    if (this.state && proof.issuedAt <= this.state.lastProofAt) {
      return Response.json({ error: "unauthorized", message: "replayed proof" }, { status: 401 });
    }
    await this.saveState({
      nodeId: proof.nodeId,
      instanceId: proof.instanceId,
      lastProofAt: proof.issuedAt,
      closedAt: null,
      // Requests wait for hello and welcome: the welcome tells the node which rooms it keeps.
      live: false,
      downAt: null,
    });
    for (const old of this.ctx.getWebSockets()) closeQuietly(old, NodeCloseCode.replaced, "another socket connected for this node");
    this.failPending("unreachable", "the node's socket was replaced");
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].serializeAttachment({ instanceId: proof.instanceId, proofAt: proof.issuedAt } satisfies Attachment);
    this.lastHeard = Date.now();
    this.silentAtLastCheck = false;
    await this.ctx.storage.setAlarm(Date.now() + LIVENESS_CHECK_MS);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** Sends one request to the node and waits for its answer (typed by the action's schemas). */
  async call<A extends NodeAction>(action: A, body: NodeRequest<A>): Promise<CallResult<A>> {
    const ws = this.socket();
    if (!ws || !this.state?.live) return { ok: false, code: "unreachable", message: "the media node is not connected" };
    const id = this.nextId++;
    return new Promise<CallResult<A>>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, code: "timeout", message: `the media node did not answer ${action} within ${NODE_CALL_TIMEOUT_MS} ms` });
      }, NODE_CALL_TIMEOUT_MS);
      this.pending.set(id, { action, resolve: resolve as Pending["resolve"], timer });
      if (!send(ws, { type: "request", id, action, body })) this.settle(id, { ok: false, code: "unreachable", message: "the media node's socket closed" });
    });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    if (!this.isTrusted(ws)) return closeQuietly(ws, NodeCloseCode.replaced, "superseded");
    this.lastHeard = Date.now();
    const parsed = parseNodeMessage(NodeToEdge, raw);
    if (!parsed.ok) return closeQuietly(ws, NodeCloseCode.protocolError, parsed.message.slice(0, 120));
    const msg = parsed.value;
    switch (msg.type) {
      case "hello":
        return this.hello(ws, msg);
      case "event":
        if (!this.state?.live) return closeQuietly(ws, NodeCloseCode.protocolError, "say hello first");
        return this.event(ws, msg.event);
      case "result": {
        const pending = this.pending.get(msg.id);
        if (!pending) return;
        const body = NodeActions[pending.action].response.safeParse(msg.body);
        return this.settle(msg.id, body.success
          ? { ok: true, value: body.data }
          : { ok: false, code: "internal", message: `the media node sent an invalid answer to ${pending.action}` });
      }
      case "error":
        return this.settle(msg.id, { ok: false, code: msg.code, message: msg.message });
      default:
        return assertNever(msg);
    }
  }

  private async hello(ws: WebSocket, hello: Extract<NodeToEdge, { type: "hello" }>): Promise<void> {
    if (hello.version !== NODE_PROTOCOL_VERSION) {
      return closeQuietly(ws, NodeCloseCode.unsupportedVersion, `this edge speaks node protocol v${NODE_PROTOCOL_VERSION}`);
    }
    const state = this.state!;
    const { keepRooms } = await registry(this.env).nodeConnected(
      state.nodeId,
      { instanceId: state.instanceId, region: hello.region, capacity: hello.capacity, load: hello.load },
      Date.now(),
    );
    // Welcome first, then requests: the node frees what is not in keepRooms when it reads the welcome.
    send(ws, { type: "welcome", keepRooms, heartbeatMs: LIVENESS_CHECK_MS });
    await this.saveState({ ...this.state!, live: true });
  }

  private async event(ws: WebSocket, event: NodeEvent): Promise<void> {
    const nodeId = this.state!.nodeId;
    switch (event.type) {
      case "heartbeat": {
        // Acknowledged once the registry holds the load (the ack means "recorded"), but within
        // HEARTBEAT_ACK_WITHIN_MS whatever the registry does: the node calls a silent edge dead, and
        // one slow registry (a single object every node reports to) must not make every node redial.
        const recorded = registry(this.env).heartbeat(nodeId, event.load, Date.now()).catch((err: unknown) => console.warn("heartbeat not recorded", nodeId, String(err)));
        let timer: ReturnType<typeof setTimeout> | null = null;
        await Promise.race([recorded, new Promise((resolve) => (timer = setTimeout(resolve, HEARTBEAT_ACK_WITHIN_MS)))]);
        if (timer !== null) clearTimeout(timer);
        send(ws, { type: "heartbeat-ack" });
        return;
      }
      case "drain":
        await registry(this.env).setDraining(nodeId, true, "node");
        return;
      case "participant-failed":
        return roomStub(this.env, event.room).mediaFailed(nodeId, event.participantId);
      case "active-speaker":
        return roomStub(this.env, event.room).activeSpeaker(nodeId, event.participantId);
      case "layer-demand":
        return roomStub(this.env, event.room).layerDemand(nodeId, event.participantId, event.trackId, event.rids);
      case "inventory":
        // In the background, one room at a time: the node's other messages keep flowing meanwhile.
        // Entries past the bound wait for the node's next report.
        this.inventory.push(...event.rooms.slice(0, Math.max(0, MAX_QUEUED_INVENTORY - this.inventory.length)));
        if (!this.reconciling) void this.reconcile(nodeId);
        return;
      default:
        return assertNever(event);
    }
  }

  /** Each room of the inventory frees what it no longer has on this node (RoomDO.reconcileNode). */
  private async reconcile(nodeId: string): Promise<void> {
    this.reconciling = true;
    try {
      for (let entry = this.inventory.shift(); entry; entry = this.inventory.shift()) {
        const { room, participants } = entry;
        await roomStub(this.env, room).reconcileNode(room, nodeId, participants).catch((err: Error) => console.warn("could not reconcile room", room, err.message));
      }
    } finally {
      this.reconciling = false;
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeQuietly(ws, code === 1005 || code === 1006 ? 1000 : code, "closed");
    await this.lost(ws, code === NodeCloseCode.normal);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.lost(ws, false);
  }

  /**
   * The trusted socket is gone: calls fail now. A node that closed it on purpose (it is stopping)
   * is down at once; otherwise it is down unless it is back within the grace.
   */
  private async lost(ws: WebSocket, deliberate: boolean): Promise<void> {
    if (!this.isTrusted(ws) || !this.state) return;
    this.failPending("unreachable", "the media node's socket closed");
    const now = Date.now();
    await this.saveState({ ...this.state, closedAt: now });
    if (deliberate) return this.down("the media server stopped");
    await this.ctx.storage.setAlarm(now + reconnectGraceMs(this.env));
  }

  override async alarm(): Promise<void> {
    const state = this.state;
    if (!state) return;
    const now = Date.now();
    const socket = this.socket();
    if (!socket && state.downAt != null) {
      if (await this.forgetIfGone(now)) return;
      return this.ctx.storage.setAlarm(this.forgetTime(state, state.downAt));
    }
    if (!socket) {
      // Closed, or this object restarted and the socket went with it: down once the grace has passed.
      const closedAt = state.closedAt ?? now;
      if (state.closedAt === null) await this.saveState({ ...state, closedAt });
      if (now - closedAt >= reconnectGraceMs(this.env)) return this.down("the media server disconnected");
      return this.ctx.storage.setAlarm(closedAt + reconnectGraceMs(this.env));
    }
    const stale = now - this.lastHeard > staleAfterMs(this.env);
    // Silent at two checks in a row: after a stall of this object, its alarm can run before the
    // messages the node sent meanwhile; those are read before the next check.
    if (stale && this.silentAtLastCheck) {
      closeQuietly(socket, state.live ? NodeCloseCode.silent : NodeCloseCode.protocolError, state.live ? "no heartbeat" : "no hello");
      return this.down("the media server stopped responding");
    }
    this.silentAtLastCheck = stale;
    await this.ctx.storage.setAlarm(now + LIVENESS_CHECK_MS);
  }

  /** Reported to the registry, which moves the node's rooms (once per process: it checks the instance). */
  private async down(why: string): Promise<void> {
    const state = this.state!;
    this.failPending("unreachable", why);
    const now = Date.now();
    const downState = { ...state, live: false, closedAt: state.closedAt ?? now, downAt: now };
    await this.saveState(downState);
    await registry(this.env).nodeDown(state.nodeId, state.instanceId, why);
    await this.ctx.storage.setAlarm(this.forgetTime(downState, now));
  }

  /**
   * A node down for NODE_FORGET_AFTER_MS, whose last proof has expired, leaves no state behind (a
   * node that comes back later connects afresh). Returns whether it was forgotten.
   */
  async forgetIfGone(now: number): Promise<boolean> {
    const state = this.state;
    if (!state || state.downAt == null || this.socket() || now < this.forgetTime(state, state.downAt)) return false;
    this.state = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return true;
  }

  private forgetTime(state: LinkState, downAt: number): number {
    return linkForgetAt(downAt, state.lastProofAt, forgetAfterMs(this.env), NODE_PROOF_MAX_SKEW_MS);
  }

  /** The open socket this object trusts: the newest one accepted. */
  private socket(): WebSocket | undefined {
    if (!this.state || this.state.closedAt !== null) return undefined;
    return this.ctx.getWebSockets().find((ws) => this.isTrusted(ws) && ws.readyState === WebSocket.OPEN);
  }

  private isTrusted(ws: WebSocket): boolean {
    const a = ws.deserializeAttachment() as Attachment | null;
    return !!a && !!this.state && a.instanceId === this.state.instanceId && a.proofAt === this.state.lastProofAt;
  }

  private settle(id: number, result: CallResult<NodeAction>): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(result);
  }

  private failPending(code: NodeErrorCode, message: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, { ok: false, code, message });
  }

  private async saveState(state: LinkState): Promise<void> {
    this.state = state;
    await this.ctx.storage.put(STATE_KEY, state);
  }
}

function send(ws: WebSocket, msg: EdgeToNode): boolean {
  try {
    ws.send(JSON.stringify(msg));
    return true;
  } catch {
    return false;
  }
}

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}
