import { NodeId, NodeKey, Region, workerNodeId } from "@sfu/shared";
import { z } from "zod";

const port = z.coerce.number().int().min(1).max(65535);

/** Media-node configuration, from environment variables. Invalid values stop the start with a clear message. */
export const ConfigSchema = z
  .object({
    WORKER_URL: z.url({ protocol: /^https?$/ }).describe("base URL of the edge worker the node connects to"),
    /** This node's id: its NODE_KEY is bound to it. */
    NODE_ID: NodeId,
    /**
     * This node's own credential (`npm run node-credential -- <NODE_ID>`): it signs the connect proof.
     * With WORKERS > 1, one key per worker process (for NODE_ID-0, NODE_ID-1, …), comma-separated.
     */
    NODE_KEY: z.string().transform((s) => s.split(",").map((k) => k.trim())).pipe(z.array(NodeKey).min(1).max(256)),
    REGION: Region.default("local"),
    CAPACITY: z.coerce.number().int().min(1).max(100_000).default(500),
    /** Address put in ICE candidates: the VM's public IP in production. */
    ANNOUNCED_IP: z.ipv4().default("127.0.0.1"),
    /** Local interface media sockets bind to. */
    RTC_BIND_IP: z.ipv4().default("127.0.0.1"),
    RTC_MIN_PORT: port.default(40000),
    RTC_MAX_PORT: port.default(49999),
    HEARTBEAT_MS: z.coerce.number().int().min(500).max(60_000).default(2000),
    /** How often the node tells the edge which rooms and participants it holds; the edge frees orphans. */
    INVENTORY_MS: z.coerce.number().int().min(500).max(3_600_000).default(10_000),
    /** After SIGTERM, the longest the node waits for the edge to move its rooms away before it exits. */
    DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
    /** Port of /healthz and /metrics on 127.0.0.1; 0 serves none. */
    HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /**
     * The RTP send path: `auto` uses the native addon (media-node/native, built by npm install) when it
     * loads, else the TypeScript path; `native` refuses to start without it; `js` forces the TypeScript path.
     */
    EGRESS: z.enum(["auto", "native", "js"]).default("auto"),
    /** Test-only: accept edge requests that make a subscriber's link narrow or lossy (never in production). */
    DEBUG_IMPAIRMENT: z.enum(["0", "1"]).default("0"),
    /**
     * Node processes to run, one per core: werift forwards on one thread. With more than one, this
     * process supervises the others; each connects as its own node NODE_ID-i, with its slice of the
     * RTC port range and health port HEALTH_PORT+1+i.
     */
    WORKERS: z.coerce.number().int().min(1).max(256).default(1),
  })
  .refine((c) => c.NODE_KEY.length === c.WORKERS, {
    message: "NODE_KEY must hold one key per worker process (WORKERS of them, comma-separated: npm run node-credential -- <NODE_ID> --workers <WORKERS>)",
    path: ["NODE_KEY"],
  })
  .refine((c) => c.RTC_MIN_PORT <= c.RTC_MAX_PORT, { message: "RTC_MIN_PORT must not exceed RTC_MAX_PORT", path: ["RTC_MIN_PORT"] })
  .refine((c) => c.HEALTH_PORT === 0 || c.WORKERS === 1 || c.HEALTH_PORT + c.WORKERS <= 65535, {
    message: "HEALTH_PORT + WORKERS must not exceed 65535 (worker i serves HEALTH_PORT+1+i)",
    path: ["HEALTH_PORT"],
  });

export type Config = z.infer<typeof ConfigSchema>;

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(config)"}: ${i.message}`);
    throw new Error(`invalid media-node configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** The environment of worker process `i` of `n`: its own node id and key, health port and RTC port slice. */
export function workerEnv(config: Config, i: number, n: number): Record<string, string> {
  const span = Math.floor((config.RTC_MAX_PORT - config.RTC_MIN_PORT + 1) / n);
  return {
    WORKERS: "1",
    NODE_ID: workerNodeId(config.NODE_ID, i),
    NODE_KEY: config.NODE_KEY[i]!,
    HEALTH_PORT: config.HEALTH_PORT === 0 ? "0" : String(config.HEALTH_PORT + 1 + i),
    RTC_MIN_PORT: String(config.RTC_MIN_PORT + i * span),
    RTC_MAX_PORT: String(config.RTC_MIN_PORT + (i + 1) * span - 1),
  };
}
