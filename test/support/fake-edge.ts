import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import {
  NODE_CONNECT_PATH,
  NODE_PROOF_HEADER,
  NodeActions,
  NodeToEdge,
  parseNodeMessage,
  verifyNodeProof,
  type NodeAction,
  type NodeHello,
  type NodeProof,
  type ProofRefusal,
} from "@sfu/shared";

type Reply = Extract<NodeToEdge, { type: "result" | "error" }>;

/** One accepted node socket, as the fake edge sees it. */
export class EdgeConn {
  /** Every valid message the node sent, in order. */
  readonly messages: NodeToEdge[] = [];
  /** Messages that broke the protocol (should stay empty). */
  readonly invalid: string[] = [];
  /** Stop answering heartbeats (and everything else): the node should call the socket dead. */
  silent = false;
  closed = false;
  private nextId = 1;

  constructor(
    readonly ws: WebSocket,
    readonly proof: NodeProof,
    private readonly welcome: (hello: NodeHello) => { keepRooms: string[]; heartbeatMs: number },
  ) {
    ws.on("message", (data: Buffer, isBinary) => {
      const parsed = parseNodeMessage(NodeToEdge, isBinary ? data : data.toString("utf8"));
      if (!parsed.ok) return void this.invalid.push(parsed.message);
      const msg = parsed.value;
      this.messages.push(msg);
      if (this.silent) return;
      if (msg.type === "hello") this.send({ type: "welcome", ...this.welcome(msg) });
      if (msg.type === "event" && msg.event.type === "heartbeat") this.send({ type: "heartbeat-ack" });
    });
    ws.on("close", () => (this.closed = true));
  }

  send(msg: unknown): void {
    this.sendRaw(JSON.stringify(msg));
  }

  sendRaw(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  /** The first message (already received or still to come) that matches. */
  async waitFor<M extends NodeToEdge>(match: (m: NodeToEdge) => m is M, timeoutMs?: number): Promise<M>;
  async waitFor(match: (m: NodeToEdge) => boolean, timeoutMs?: number): Promise<NodeToEdge>;
  async waitFor(match: (m: NodeToEdge) => boolean, timeoutMs = 5000): Promise<NodeToEdge> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms; got ${this.messages.map((m) => m.type).join(",")}`);
      await sleep(10);
    }
  }

  hello(): Promise<NodeHello> {
    return this.waitFor((m): m is NodeHello => m.type === "hello");
  }

  events(type: string): NodeToEdge[] {
    return this.messages.filter((m) => m.type === "event" && m.event.type === type);
  }

  /** Sends a request and waits for its reply; a result's body must match the action's response schema. */
  async request(action: NodeAction | string, body: unknown): Promise<Reply> {
    const id = this.nextId++;
    this.send({ type: "request", id, action, body });
    return this.reply(id, action);
  }

  async reply(id: number, action?: string): Promise<Reply> {
    const reply = (await this.waitFor((m): m is Reply => (m.type === "result" || m.type === "error") && m.id === id)) as Reply;
    if (reply.type === "result" && action && action in NodeActions) {
      const parsed = NodeActions[action as NodeAction].response.safeParse(reply.body);
      if (!parsed.success) throw new Error(`${action} result does not match its schema: ${parsed.error.message}`);
    }
    return reply;
  }

  nextRequestId(): number {
    return this.nextId++;
  }
}

/**
 * A stand-in for the worker's node endpoint: checks each dial's proof (refusing a bad one with 401
 * before any upgrade), welcomes the node and acknowledges its heartbeats.
 */
export class FakeEdge {
  readonly conns: EdgeConn[] = [];
  readonly refusals: Array<{ reason: ProofRefusal; header: string | undefined; at: number }> = [];
  /** How the edge answers a hello; by default it keeps every room and asks for 200 ms heartbeats. */
  welcome: (hello: NodeHello) => { keepRooms: string[]; heartbeatMs: number } = (hello) => ({ keepRooms: hello.rooms, heartbeatMs: 200 });
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(
    readonly secret: string,
    readonly port: number,
  ) {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on("upgrade", (req, socket: Duplex, head) => void this.upgrade(req, socket, head));
  }

  static async start(secret: string, port: number): Promise<FakeEdge> {
    const edge = new FakeEdge(secret, port);
    await new Promise<void>((resolve, reject) => {
      edge.server.once("error", reject);
      edge.server.listen(port, "127.0.0.1", resolve);
    });
    return edge;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async upgrade(req: import("node:http").IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const header = req.headers[NODE_PROOF_HEADER] as string | undefined;
    const verdict = await verifyNodeProof(this.secret, header, Date.now());
    if (new URL(req.url ?? "/", "http://edge").pathname !== NODE_CONNECT_PATH || !verdict.ok) {
      if (!verdict.ok) this.refusals.push({ reason: verdict.reason, header, at: Date.now() });
      const body = verdict.ok ? "not-found" : verdict.reason;
      socket.end(`HTTP/1.1 ${verdict.ok ? "404 Not Found" : "401 Unauthorized"}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.conns.push(new EdgeConn(ws, verdict.proof, (hello) => this.welcome(hello))));
  }

  /** The newest socket of `nodeId` after the first `skip` of them, once it said hello. */
  async conn(nodeId: string, skip = 0, timeoutMs = 15_000): Promise<EdgeConn> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mine = this.conns.filter((c) => c.proof.nodeId === nodeId);
      const conn = mine[skip];
      if (conn && conn.messages.some((m) => m.type === "hello")) return conn;
      if (Date.now() > deadline) throw new Error(`node ${nodeId} did not connect (${mine.length} sockets so far)`);
      await sleep(10);
    }
  }

  connsOf(nodeId: string): EdgeConn[] {
    return this.conns.filter((c) => c.proof.nodeId === nodeId);
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
