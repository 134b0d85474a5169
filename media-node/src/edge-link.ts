import {
  assertNever,
  EdgeToNode,
  MAX_NODE_MESSAGE_BYTES,
  NODE_CONNECT_PATH,
  NODE_PROOF_HEADER,
  NODE_PROTOCOL_VERSION,
  parseNodeMessage,
  signNodeProof,
  uniqueProofTime,
  type NodeEvent,
  type NodeLoad,
  type NodeToEdge,
} from "@sfu/shared";
import WebSocket from "ws";
import type { Cancel, Scheduler } from "./clock.ts";
import { inventoryEvents } from "./inventory.ts";
import { log } from "./log.ts";

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5000;
/** A connection that stayed up this long after the welcome resets the backoff. */
const STABLE_MS = 1000;
/** Larger messages make ws drop the socket; up to here an oversized request still gets a typed refusal. */
const MAX_READ_BYTES = 4 * MAX_NODE_MESSAGE_BYTES;

export interface EdgeLinkConfig {
  workerUrl: string;
  /** This node's own key (NODE_KEY), bound to `nodeId`. */
  nodeKey: string;
  nodeId: string;
  instanceId: string;
  region: string;
  capacity: number;
  /** Heartbeat interval until the edge's welcome names its own. */
  heartbeatMs: number;
  /** How often the node reports what it holds (and once at each welcome), for the edge to reconcile. */
  inventoryMs: number;
}

export interface EdgeLinkHandlers {
  load(now: number): NodeLoad;
  rooms(): string[];
  /** Room id → participant ids held there. */
  held(): ReadonlyMap<string, readonly string[]>;
  /** The edge accepted the node; free every room it no longer places here. */
  welcome(keepRooms: string[]): void;
  request(req: Extract<EdgeToNode, { type: "request" }>): Promise<NodeToEdge>;
  connectionChanged(connected: boolean): void;
}

/**
 * The node's one socket to the edge: it dials out with a fresh signed proof, says hello, heartbeats,
 * answers the edge's requests and carries the node's events. It redials with backoff whenever the
 * socket drops or falls silent; the node's rooms and media stay up meanwhile.
 */
export class EdgeLink {
  /** Welcomed by the edge on the current socket. */
  connected = false;
  /** Connections after the first one. */
  reconnects = 0;
  private ws: WebSocket | undefined;
  private attempt = 0;
  private welcomes = 0;
  private stopped = false;
  private cancelRetry: Cancel | undefined;
  private heartbeatMs: number;

  constructor(
    private readonly config: EdgeLinkConfig,
    private readonly handlers: EdgeLinkHandlers,
    private readonly scheduler: Scheduler,
  ) {
    this.heartbeatMs = config.heartbeatMs;
  }

  start(): void {
    void this.connect();
  }

  /** Sends one event if the edge is there; events while disconnected are dropped. */
  send(event: NodeEvent): boolean {
    if (this.connected && this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "event", event } satisfies NodeToEdge));
      return true;
    }
    log("debug", "event dropped: not connected to the edge", { event: event.type });
    return false;
  }

  /** Closes the socket for good (normal closure) and resolves once it is closed, or after 1 s. */
  close(): Promise<void> {
    this.stopped = true;
    this.cancelRetry?.();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = this.scheduler.after(1000, () => {
        ws.terminate();
        resolve();
      });
      ws.once("close", () => {
        cancel();
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, "node stopping");
    });
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { workerUrl, nodeKey, nodeId, instanceId } = this.config;
    const url = new URL(`${workerUrl.replace(/\/$/, "")}${NODE_CONNECT_PATH}`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const proof = await signNodeProof(nodeKey, nodeId, instanceId, uniqueProofTime());
    if (this.stopped) return;
    const ws = new WebSocket(url, { headers: { [NODE_PROOF_HEADER]: proof }, handshakeTimeout: 10_000, maxPayload: MAX_READ_BYTES });
    this.ws = ws;
    let welcomedAt: number | undefined;
    let cancelSilence: Cancel | undefined;
    let stopHeartbeat: Cancel | undefined;
    let stopInventory: Cancel | undefined;
    // Anything from the edge proves the socket alive; nothing for three heartbeats and it is dead.
    const heard = () => {
      cancelSilence?.();
      cancelSilence = this.scheduler.after(3 * this.heartbeatMs, () => {
        log("warn", "the edge went silent; reconnecting", { silentMs: 3 * this.heartbeatMs });
        ws.terminate();
      });
    };
    const send = (msg: NodeToEdge) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
      else log("debug", "reply dropped: its socket closed", { type: msg.type });
    };

    ws.on("open", () => {
      heard();
      send({ type: "hello", version: NODE_PROTOCOL_VERSION, region: this.config.region, capacity: this.config.capacity, load: this.handlers.load(this.scheduler.clock.now()), rooms: this.handlers.rooms() });
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      heard();
      const raw = isBinary ? data : data.toString("utf8");
      const parsed = parseNodeMessage(EdgeToNode, raw);
      if (!parsed.ok) {
        const id = typeof raw === "string" ? requestId(raw) : undefined;
        log("warn", "bad message from the edge", { error: parsed.message, id });
        if (id !== undefined) {
          const code = data.byteLength > MAX_NODE_MESSAGE_BYTES ? "payload-too-large" : "bad-request";
          send({ type: "error", id, code, message: parsed.message.slice(0, 1024) });
        }
        return;
      }
      const msg = parsed.value;
      switch (msg.type) {
        case "welcome": {
          welcomedAt = this.scheduler.clock.now();
          if (this.welcomes++ > 0) this.reconnects++;
          this.heartbeatMs = msg.heartbeatMs;
          this.connected = true;
          const held = this.handlers.rooms().length;
          this.handlers.welcome(msg.keepRooms);
          log("info", "connected to the edge", { url: url.origin, nodeId, instanceId, heartbeatMs: msg.heartbeatMs, roomsHeld: held, roomsKept: this.handlers.rooms().length });
          stopHeartbeat?.();
          stopHeartbeat = this.scheduler.every(this.heartbeatMs, (now) => send({ type: "event", event: { type: "heartbeat", load: this.handlers.load(now) } }));
          const reportInventory = () => {
            for (const event of inventoryEvents(this.handlers.held())) send({ type: "event", event });
          };
          stopInventory?.();
          stopInventory = this.scheduler.every(this.config.inventoryMs, reportInventory);
          reportInventory();
          heard();
          this.handlers.connectionChanged(true);
          return;
        }
        case "request":
          void this.handlers.request(msg).then(send);
          return;
        case "heartbeat-ack":
          return;
        default:
          assertNever(msg);
      }
    });
    let failure: string | undefined;
    ws.on("error", (err) => (failure = err.message));
    ws.on("close", (code, reason) => {
      cancelSilence?.();
      stopHeartbeat?.();
      stopInventory?.();
      if (this.ws !== ws) return;
      const wasConnected = this.connected;
      this.connected = false;
      if (wasConnected) this.handlers.connectionChanged(false);
      if (this.stopped) return;
      if (welcomedAt !== undefined && this.scheduler.clock.now() - welcomedAt >= STABLE_MS) this.attempt = 0;
      const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
      const delay = Math.round(Math.min(MAX_RETRY_MS, base * (1 + Math.random())));
      this.attempt++;
      const what = wasConnected ? "lost the edge connection; redialing" : "could not connect to the edge; redialing";
      log("warn", what, { url: url.origin, code, reason: reason.toString().slice(0, 200), error: failure, inMs: delay });
      this.cancelRetry = this.scheduler.after(delay, () => void this.connect());
    });
  }
}

/** The id of a request the node could not parse, if it has one, so the refusal reaches its caller. */
function requestId(raw: string): number | undefined {
  if (raw.length > MAX_READ_BYTES) return undefined;
  try {
    const msg = JSON.parse(raw) as { id?: unknown } | null;
    const id = msg?.id;
    return typeof id === "number" && Number.isInteger(id) && id >= 0 ? id : undefined;
  } catch {
    return undefined;
  }
}
