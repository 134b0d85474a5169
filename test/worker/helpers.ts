import { SELF, env } from "cloudflare:test";
import { DEFAULT_GRANTS, SIGNATURE_HEADER, signRequest, signRoomToken, type NodeRegistration, type RoomTokenClaims, type ServerMessage } from "@sfu/shared";
import { expect } from "vitest";

export const BASE = "http://sfu.test";
/** Nothing listens here: a registered node that makes every control call fail as "unreachable". */
export const DEAD_NODE_URL = "http://127.0.0.1:9";

export function registration(nodeId: string, over: Partial<NodeRegistration> = {}): NodeRegistration {
  return {
    nodeId,
    url: DEAD_NODE_URL,
    region: "local",
    capacity: 100,
    load: { rooms: 0, participants: 0, tracks: 0, cpu: 0 },
    ...over,
  };
}

export interface SignOptions {
  secret?: string;
  /** Timestamp to sign with; defaults to now. */
  at?: number;
  /** Path to sign, when it should differ from the one requested. */
  signedPath?: string;
  /** Body to sign, when it should differ from the one sent. */
  signedBody?: string;
  /** Replaces the signature header; null sends none. */
  header?: string | null;
}

export async function signedPost(path: string, body: unknown, opts: SignOptions = {}): Promise<Response> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const signature = opts.header !== undefined
    ? opts.header
    : await signRequest(opts.secret ?? env.FLEET_SECRET, "POST", opts.signedPath ?? path, opts.signedBody ?? text, opts.at ?? Date.now());
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== null) headers[SIGNATURE_HEADER] = signature;
  return SELF.fetch(`${BASE}${path}`, { method: "POST", body: text, headers });
}

export async function registerNode(nodeId: string, over: Partial<NodeRegistration> = {}): Promise<void> {
  const res = await signedPost("/nodes/register", registration(nodeId, over));
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ok: true, known: true });
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
