import { NodeAck, SIGNATURE_HEADER, signRequest, uniqueSigningTime, type NodeHeartbeat, type NodeRegistration } from "@sfu/shared";
import type { Config } from "./config.ts";
import { log } from "./log.ts";
import type { MediaNode } from "./media-node.ts";

/**
 * Registers the node with the worker, then heartbeats its load. When the worker does not know the
 * node (registry reset) or a call fails, the next tick registers again.
 */
export class Registration {
  private timer: NodeJS.Timeout | undefined;
  private registered = false;
  private stopped = false;

  constructor(
    private readonly config: Config,
    private readonly node: MediaNode,
  ) {}

  /** Resolves once the first registration succeeded. */
  async start(): Promise<void> {
    for (let attempt = 0; !this.registered && !this.stopped; attempt++) {
      await this.tick();
      if (!this.registered) await sleep(Math.min(5000, 250 * 2 ** attempt));
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick().finally(() => this.schedule()), this.config.HEARTBEAT_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const load = this.node.load();
    try {
      if (this.registered) {
        const ack = await this.post("/nodes/heartbeat", { nodeId: this.config.NODE_ID, load } satisfies NodeHeartbeat);
        if (!ack.known) this.registered = false;
      }
      if (!this.registered) {
        const body: NodeRegistration = {
          nodeId: this.config.NODE_ID,
          url: this.config.PUBLIC_URL,
          region: this.config.REGION,
          capacity: this.config.CAPACITY,
          load,
        };
        await this.post("/nodes/register", body);
        this.registered = true;
        log("info", "registered with worker", { worker: this.config.WORKER_URL, nodeId: this.config.NODE_ID, url: this.config.PUBLIC_URL });
      }
    } catch (err) {
      this.registered = false;
      log("warn", "worker unreachable", { error: (err as Error).message });
    }
  }

  private async post(path: string, body: unknown): Promise<NodeAck> {
    return NodeAck.parse(await postToWorker(this.config, path, body));
  }
}

/** A signed POST from this node to the worker; throws on a non-2xx answer. */
export async function postToWorker(config: Pick<Config, "WORKER_URL" | "FLEET_SECRET">, path: string, body: unknown): Promise<unknown> {
  const text = JSON.stringify(body);
  const res = await fetch(new URL(path, config.WORKER_URL), {
    method: "POST",
    body: text,
    headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signRequest(config.FLEET_SECRET, "POST", path, text, uniqueSigningTime()) },
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}: ${await res.text()}`);
  return res.json();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
