import { SELF, env, runInDurableObject } from "cloudflare:test";
import {
  DEFAULT_GRANTS,
  deriveNodeKey,
  EdgeToNode,
  NODE_CONNECT_PATH,
  NODE_PROOF_HEADER,
  NODE_PROTOCOL_VERSION,
  parseNodeMessage,
  signNodeProof,
  signRoomToken,
  uniqueProofTime,
  type NodeAction,
  type NodeErrorCode,
  type NodeEvent,
  type NodeHello,
  type NodeLoad,
  type RoomTokenClaims,
  type ServerMessage,
  type TrackKind,
} from "@sfu/shared";
import { expect } from "vitest";
import type { StoredRoom } from "../../worker/src/room/model.ts";
import { RoomStore } from "../../worker/src/room/store.ts";

export const BASE = "http://sfu.test";
export const IDLE_LOAD: NodeLoad = { rooms: 0, participants: 0, tracks: 0, cpu: 0 };

export type Request = Extract<EdgeToNode, { type: "request" }>;
/** How a FakeNode answers a request: a result body, a typed error, or silence. */
export type Answer = { body: unknown } | { error: NodeErrorCode; message?: string } | "ignore";

/** The node key the fleet secret gives `nodeId` (what `npm run node-credential` prints). */
export const nodeKey = (nodeId: string) => deriveNodeKey(env.FLEET_SECRET, nodeId);

/** A proof for `nodeId` signed with its own key, issued `at`. */
export const nodeProof = async (nodeId: string, at: number, instanceId = "instance-1") => signNodeProof(await nodeKey(nodeId), nodeId, instanceId, at);

/** Opens the node socket with a proof (a valid one for `nodeId` unless given); the raw upgrade response. */
export async function connectNodeSocket(nodeId: string, opts: { proof?: string | null; instanceId?: string } = {}): Promise<Response> {
  const proof = opts.proof !== undefined ? opts.proof : await nodeProof(nodeId, uniqueProofTime(), opts.instanceId);
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (proof !== null) headers[NODE_PROOF_HEADER] = proof;
  return SELF.fetch(`${BASE}${NODE_CONNECT_PATH}`, { headers });
}

/**
 * The test's stand-in for a media node process, on the real node socket: it proves itself, says
 * hello, heartbeats and answers the edge's requests (by default with a typed `internal` error: it
 * holds no media).
 */
export class FakeNode {
  readonly requests: Request[] = [];
  readonly received: EdgeToNode[] = [];
  answer: (req: Request) => Answer = () => ({ error: "internal", message: "test node: no media here" });
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ match: (m: EdgeToNode) => boolean; resolve: (m: EdgeToNode) => void }> = [];

  private constructor(
    readonly nodeId: string,
    readonly ws: WebSocket,
  ) {
    ws.addEventListener("message", (ev) => {
      const parsed = parseNodeMessage(EdgeToNode, ev.data);
      if (!parsed.ok) throw new Error(`edge sent an invalid message: ${parsed.message}`);
      const msg = parsed.value;
      this.received.push(msg);
      if (msg.type === "request") {
        this.requests.push(msg);
        const a = this.answer(msg);
        if (a === "ignore") return;
        this.send("body" in a ? { type: "result", id: msg.id, body: a.body } : { type: "error", id: msg.id, code: a.error, message: a.message ?? a.error });
      }
      for (const w of this.waiters.splice(0)) {
        if (w.match(msg)) w.resolve(msg);
        else this.waiters.push(w);
      }
    });
    this.closed = new Promise((resolve) => ws.addEventListener("close", (ev) => resolve({ code: ev.code, reason: ev.reason })));
  }

  /** Connects and says hello; resolves with the node and the edge's welcome. */
  static async connect(nodeId: string, hello: Partial<Omit<NodeHello, "type">> = {}, opts: { instanceId?: string } = {}) {
    const res = await connectNodeSocket(nodeId, opts);
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const node = new FakeNode(nodeId, ws);
    const welcome = node.next("welcome");
    node.send({ type: "hello", version: NODE_PROTOCOL_VERSION, region: "local", capacity: 100, load: IDLE_LOAD, rooms: [], ...hello });
    return { node, welcome: (await welcome) as Extract<EdgeToNode, { type: "welcome" }> };
  }

  send(msg: unknown): void {
    try {
      this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
    } catch {
      // closed: a request that arrived as the test closed the node goes unanswered
    }
  }

  event(event: NodeEvent): void {
    this.send({ type: "event", event });
  }

  /** The next message of `type` from the edge. */
  next<T extends EdgeToNode["type"]>(type: T, where: (m: Extract<EdgeToNode, { type: T }>) => boolean = () => true, timeoutMs = 5000): Promise<Extract<EdgeToNode, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match: (m) => m.type === type && where(m as Extract<EdgeToNode, { type: T }>),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<EdgeToNode, { type: T }>);
        },
      });
    });
  }

  /** Requests of one action the edge sent so far. */
  sent<A extends NodeAction>(action: A): Request[] {
    return this.requests.filter((r) => r.action === action);
  }

  close(code = 1000): void {
    try {
      this.ws.close(code, "bye");
    } catch {
      // already closed
    }
  }
}

const nodes: FakeNode[] = [];

/** Connects a FakeNode that `closeOpenedSockets` (call it in afterEach) will close. */
export async function registerNode(nodeId: string, hello: Partial<Omit<NodeHello, "type">> = {}): Promise<FakeNode> {
  const { node } = await FakeNode.connect(nodeId, hello);
  nodes.push(node);
  return node;
}

export async function healthyNodes(): Promise<number> {
  const res = await SELF.fetch(`${BASE}/healthz`);
  expect(res.status).toBe(200);
  const body = await res.json<{ ok: boolean; healthyNodes: number }>();
  expect(body.ok).toBe(true);
  return body.healthyNodes;
}

type Waiter = { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void };

/** A browser-side WebSocket to a room that queues what the room sends. */
export class RoomSocket {
  /** Every message received, in order. */
  readonly received: ServerMessage[] = [];
  private readonly unclaimed: ServerMessage[] = [];
  private readonly waiters: Waiter[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as ServerMessage;
      this.received.push(msg);
      const i = this.waiters.findIndex((w) => w.match(msg));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(msg);
      else this.unclaimed.push(msg);
    });
    this.closed = new Promise((resolve) => ws.addEventListener("close", (ev) => resolve({ code: ev.code, reason: ev.reason })));
  }

  /** Opens a socket to `room` with a valid token for it (or the given one). */
  static async open(room: string, token?: string): Promise<RoomSocket> {
    token ??= await roomToken(room);
    const res = await SELF.fetch(`${BASE}/rooms/${room}/ws?token=${encodeURIComponent(token)}`, { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket;
    if (!ws) throw new Error("no webSocket on the 101 response");
    ws.accept();
    return new RoomSocket(ws);
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** The next not-yet-claimed message of `type` (optionally also matching `where`). */
  next<T extends ServerMessage["type"]>(type: T, where: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, timeoutMs = 5000): Promise<Extract<ServerMessage, { type: T }>> {
    const match = (m: ServerMessage) => m.type === type && where(m as Extract<ServerMessage, { type: T }>);
    const i = this.unclaimed.findIndex(match);
    if (i >= 0) return Promise.resolve(this.unclaimed.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<ServerMessage, { type: T }>);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no "${type}" message within ${timeoutMs} ms; received ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next error with `code`. */
  error(code: string, timeoutMs?: number) {
    return this.next("error", (m) => m.code === code, timeoutMs);
  }

  async join(name: string) {
    this.send({ v: 1, type: "join", name });
    return this.next("joined");
  }

  close(code = 1000, reason = "bye"): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // already closed
    }
  }
}

/** Retries `check` until it stops throwing (for state the room updates after a socket closes). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const opened: RoomSocket[] = [];

/** Opens a room socket that `closeOpenedSockets` (call it in afterEach) will close. */
export async function openRoomSocket(room: string, token?: string): Promise<RoomSocket> {
  const s = await RoomSocket.open(room, token);
  opened.push(s);
  return s;
}

export function closeOpenedSockets(): void {
  for (const s of opened.splice(0)) s.close();
  for (const n of nodes.splice(0)) n.close();
}

/** A room token signed with the test secret; `over` changes claims, `ttlSeconds` and `at` its lifetime. */
export function roomToken(room: string, over: Partial<RoomTokenClaims> = {}, opts: { secret?: string; ttlSeconds?: number; at?: number } = {}): Promise<string> {
  return signRoomToken(
    opts.secret ?? env.ROOM_TOKEN_SECRET,
    { sub: `user-${crypto.randomUUID().slice(0, 8)}`, room, grants: DEFAULT_GRANTS, ...over },
    opts.ttlSeconds ?? 600,
    opts.at ?? Date.now(),
  );
}

export function roomStub(room: string) {
  return env.ROOMS.get(env.ROOMS.idFromName(room));
}

/** The room's records as its storage holds them (read through the room's store). */
export function storedRoom(room: string): Promise<StoredRoom> {
  return runInDurableObject(roomStub(room), (_instance, state) => new RoomStore(state.storage).load());
}

/** The id of the node the room's stored record places it on, or null. */
export async function storedNode(room: string): Promise<string | null> {
  return (await storedRoom(room)).room?.node?.id ?? null;
}

/** The display names in the live room's roster (from its admin summary), sorted. */
export async function roster(room: string): Promise<string[]> {
  return (await roomStub(room).summary()).participants.map((p) => p.name).sort();
}

/**
 * `publisher` publishes `tracks` through the room: `node` answers the publish with them. Waits for
 * the publish answer and for the participant-updated carrying them, at the publisher and at each
 * of `seenBy`.
 */
export async function publishTracks(node: FakeNode, publisher: RoomSocket, tracks: Array<{ id: string; kind: TrackKind }>, seenBy: RoomSocket[] = []): Promise<void> {
  const answer = node.answer;
  node.answer = (req) =>
    req.action === "publish" ? { body: { sdp: "v=0 (test answer)", tracks: tracks.map((t, i) => ({ trackId: t.id, mid: String(i), kind: t.kind })) } } : answer(req);
  try {
    publisher.send({ v: 1, type: "publish", sdp: "v=0 (test offer)" });
    await publisher.next("publish-answer");
  } finally {
    node.answer = answer;
  }
  const sameIds = (a: Array<{ id: string }>, b: Array<{ id: string }>) => a.map((t) => t.id).join() === b.map((t) => t.id).join();
  const published = tracks.map((t) => ({ ...t, muted: false, source: t.kind === "audio" ? "microphone" : "camera" }));
  for (const s of [publisher, ...seenBy]) {
    expect((await s.next("participant-updated", (m) => sameIds(m.participant.tracks, tracks))).participant.tracks).toEqual(published);
  }
}
