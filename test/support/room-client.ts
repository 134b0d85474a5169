import WebSocket from "ws";
import { clientMessage, ServerMessage, type ClientMessageBody } from "@sfu/shared";

type Msg<T extends ServerMessage["type"]> = Extract<ServerMessage, { type: T }>;

/** A signaling client for tests and tools: the browser's side of the room protocol, over `ws`. */
export class RoomClient {
  readonly received: ServerMessage[] = [];
  private waiters: Array<{ match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }> = [];
  private handlers: Array<(m: ServerMessage) => void> = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const parsed = ServerMessage.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) throw new Error(`server sent an invalid message: ${data.toString().slice(0, 200)}`);
      const msg = parsed.data;
      this.received.push(msg);
      for (const h of this.handlers) h(msg);
      const i = this.waiters.findIndex((w) => w.match(msg));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(msg);
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }

  /** Opens the room's socket with `token`, or with one from the dev-only `/dev/token` route. */
  static async connect(baseUrl: string, room: string, token?: string): Promise<RoomClient> {
    token ??= await devToken(baseUrl, room);
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/rooms/${room}/ws?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new RoomClient(ws);
  }

  send(body: ClientMessageBody): void {
    this.ws.send(JSON.stringify(clientMessage(body)));
  }

  sendRaw(data: string): void {
    this.ws.send(data);
  }

  onMessage(handler: (m: ServerMessage) => void): void {
    this.handlers.push(handler);
  }

  /** The next message of `type` (optionally matching `where`) not yet consumed by an earlier wait. */
  next<T extends ServerMessage["type"]>(type: T, where: (m: Msg<T>) => boolean = () => true, timeoutMs = 10_000): Promise<Msg<T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}; got ${this.received.map((m) => m.type).join(",")}`)), timeoutMs);
      this.waiters.push({
        match: (m) => m.type === type && where(m as Msg<T>),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Msg<T>);
        },
      });
    });
  }

  async join(name: string): Promise<Msg<"joined">> {
    const joined = this.next("joined");
    this.send({ type: "join", name });
    return joined;
  }

  close(): void {
    this.ws.close();
  }
}

export async function devToken(baseUrl: string, room: string, name = "tester"): Promise<string> {
  const res = await fetch(`${baseUrl}/dev/token?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error(`/dev/token answered ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
