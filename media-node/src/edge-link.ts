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
import { EdgeSocketTimers } from "./edge-socket-timers.ts";
import { inventoryEvents } from "./inventory.ts";
import { log } from "./log.ts";
import { RedialBackoff } from "./redial-backoff.ts";

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
  private readonly backoff = new RedialBackoff();
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
    const send = (msg: NodeToEdge) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
      else log("debug", "reply dropped: its socket closed", { type: msg.type });
    };
    const timers = new EdgeSocketTimers(this.scheduler, this.heartbeatMs, this.config.inventoryMs, {
      heartbeat: (now) => send({ type: "event", event: { type: "heartbeat", load: this.handlers.load(now) } }),
      inventory: () => {
        for (const event of inventoryEvents(this.handlers.held())) send({ type: "event", event });
      },
      silent: (silentMs) => {
        // After a stall of this process (CPU, GC), timers run before the socket is read: judge
        // only once what the edge sent meanwhile has been read (setImmediate runs after that).
        const heard = timers.heardCount;
        setImmediate(() => {
          if (timers.heardCount !== heard) return;
          log("warn", "the edge went silent; reconnecting", { silentMs });
          ws.terminate();
        });
      },
    });

    ws.on("open", () => {
      timers.heard();
      send({ type: "hello", version: NODE_PROTOCOL_VERSION, region: this.config.region, capacity: this.config.capacity, load: this.handlers.load(this.scheduler.clock.now()), rooms: this.handlers.rooms() });
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      timers.heard();
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
          this.backoff.welcomed(this.scheduler.clock.now());
          if (this.welcomes++ > 0) this.reconnects++;
          this.heartbeatMs = msg.heartbeatMs;
          this.connected = true;
          const held = this.handlers.rooms().length;
          this.handlers.welcome(msg.keepRooms);
          log("info", "connected to the edge", { url: url.origin, nodeId, instanceId, heartbeatMs: msg.heartbeatMs, roomsHeld: held, roomsKept: this.handlers.rooms().length });
          timers.welcomed(msg.heartbeatMs);
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
      timers.stop();
      if (this.ws !== ws) return;
      const wasConnected = this.connected;
      this.connected = false;
      if (wasConnected) this.handlers.connectionChanged(false);
      if (this.stopped) return;
      const delay = this.backoff.dropped(this.scheduler.clock.now(), Math.random());
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
