/**
 * A minimal client for Janus's plain-HTTP API and the VideoRoom plugin: one session (long-polled
 * for events, kept alive), one plugin handle per peer.
 */
import { randomBytes } from "node:crypto";

interface JanusMessage {
  janus: string;
  transaction?: string;
  sender?: number;
  data?: { id: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> };
  jsep?: { type: "offer" | "answer"; sdp: string };
}

export class JanusSession {
  private readonly waiting = new Map<string, { resolve: (m: JanusMessage) => void; reject: (e: Error) => void }>();
  private closed = false;
  private readonly keepalive: NodeJS.Timeout;
  /** Events Janus sent without a transaction of ours (webrtcup, media, hangup, …), per handle. */
  readonly events = new Map<number, JanusMessage[]>();

  private constructor(
    readonly url: string,
    readonly id: number,
  ) {
    this.keepalive = setInterval(() => void this.post("", { janus: "keepalive" }).catch(() => undefined), 20_000);
    void this.poll();
  }

  static async create(url: string): Promise<JanusSession> {
    const res = await send(url, { janus: "create", transaction: tx() });
    return new JanusSession(url, res.data!.id);
  }

  async attach(plugin = "janus.plugin.videoroom"): Promise<number> {
    return (await this.post("", { janus: "attach", plugin })).data!.id;
  }

  /** A plugin request: the synchronous answer, or the event that answers an asynchronous one. */
  async message(handle: number, body: Record<string, unknown>, jsep?: { type: string; sdp: string }, timeoutMs = 20_000): Promise<JanusMessage> {
    const transaction = tx();
    const event = new Promise<JanusMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(transaction);
        reject(new Error(`janus: no answer to ${JSON.stringify(body)}`));
      }, timeoutMs);
      this.waiting.set(transaction, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject,
      });
    });
    const res = await this.post(`/${handle}`, { janus: "message", body, ...(jsep ? { jsep } : {}), transaction });
    if (res.janus !== "ack") {
      this.waiting.get(transaction)?.resolve(res);
      this.waiting.delete(transaction);
    }
    const answer = await event;
    const data = answer.plugindata?.data;
    if (data?.error) throw new Error(`janus ${String(body.request)}: ${String(data.error)}`);
    return answer;
  }

  async trickleDone(handle: number): Promise<void> {
    await this.post(`/${handle}`, { janus: "trickle", candidate: { completed: true } });
  }

  async detach(handle: number): Promise<void> {
    await this.post(`/${handle}`, { janus: "detach" }).catch(() => undefined);
  }

  async destroy(): Promise<void> {
    this.closed = true;
    clearInterval(this.keepalive);
    await this.post("", { janus: "destroy" }).catch(() => undefined);
  }

  private async post(path: string, body: Record<string, unknown>): Promise<JanusMessage> {
    return send(`${this.url}/${this.id}${path}`, { transaction: tx(), ...body });
  }

  private async poll(): Promise<void> {
    while (!this.closed) {
      try {
        const res = await fetch(`${this.url}/${this.id}?maxev=50&rid=${Date.now()}`);
        const body = (await res.json()) as JanusMessage | JanusMessage[];
        for (const m of Array.isArray(body) ? body : [body]) this.dispatch(m);
      } catch {
        if (!this.closed) await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private dispatch(m: JanusMessage): void {
    const waiter = m.transaction ? this.waiting.get(m.transaction) : undefined;
    if (waiter && m.janus !== "ack") {
      this.waiting.delete(m.transaction!);
      waiter.resolve(m);
    } else if (m.sender !== undefined && m.janus !== "keepalive") {
      const list = this.events.get(m.sender) ?? [];
      list.push(m);
      this.events.set(m.sender, list.slice(-20));
    }
  }
}

const tx = () => randomBytes(8).toString("hex");

async function send(url: string, body: Record<string, unknown>): Promise<JanusMessage> {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  const msg = (await res.json()) as JanusMessage;
  if (msg.janus === "error") throw new Error(`janus ${String(body.janus)}: ${msg.error?.reason}`);
  return msg;
}
