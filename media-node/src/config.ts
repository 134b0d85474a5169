import { hostname } from "node:os";
import { z } from "zod";

const port = z.coerce.number().int().min(1).max(65535);

/** Media-node configuration, from environment variables. Invalid values stop the start with a clear message. */
export const ConfigSchema = z
  .object({
    WORKER_URL: z.url({ protocol: /^https?$/ }).describe("base URL of the edge worker the node registers with"),
    FLEET_SECRET: z.string().min(16, "FLEET_SECRET must be at least 16 characters"),
    NODE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default(`${hostname().slice(0, 40)}-${process.pid}`),
    REGION: z.string().min(1).max(32).default("local"),
    CAPACITY: z.coerce.number().int().min(1).default(500),
    CONTROL_HOST: z.string().default("127.0.0.1"),
    CONTROL_PORT: port.default(7100),
    /** URL the worker uses to reach the control API; defaults to http://CONTROL_HOST:CONTROL_PORT. */
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** Address put in ICE candidates: the VM's public IP in production. */
    ANNOUNCED_IP: z.ipv4().default("127.0.0.1"),
    /** Local interface media sockets bind to. */
    RTC_BIND_IP: z.ipv4().default("127.0.0.1"),
    RTC_MIN_PORT: port.default(40000),
    RTC_MAX_PORT: port.default(49999),
    HEARTBEAT_MS: z.coerce.number().int().min(500).max(60_000).default(2000),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /** Test-only: accept signed calls that make a subscriber's link narrow or lossy (never in production). */
    DEBUG_IMPAIRMENT: z.enum(["0", "1"]).default("0"),
    /**
     * Node processes to run, one per core: werift forwards on one thread. With more than one, this
     * process supervises the others; each registers as its own node with NODE_ID-i, control port
     * CONTROL_PORT+i and its slice of the RTC port range.
     */
    WORKERS: z.coerce.number().int().min(1).max(256).default(1),
  })
  .refine((c) => c.RTC_MIN_PORT <= c.RTC_MAX_PORT, { message: "RTC_MIN_PORT must not exceed RTC_MAX_PORT", path: ["RTC_MIN_PORT"] })
  .refine((c) => c.PUBLIC_URL !== undefined || c.CONTROL_HOST !== "0.0.0.0", {
    message: "set PUBLIC_URL to the address the worker reaches this node at when CONTROL_HOST is 0.0.0.0",
    path: ["PUBLIC_URL"],
  });

export type Config = z.infer<typeof ConfigSchema> & { PUBLIC_URL: string };

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(config)"}: ${i.message}`);
    throw new Error(`invalid media-node configuration:\n${lines.join("\n")}`);
  }
  const c = parsed.data;
  return { ...c, PUBLIC_URL: c.PUBLIC_URL ?? `http://${c.CONTROL_HOST}:${c.CONTROL_PORT}` };
}

/** The environment of worker process `i` of `n`: its own node id, control port and RTC port slice. */
export function workerEnv(config: Config, i: number, n: number): Record<string, string> {
  const span = Math.floor((config.RTC_MAX_PORT - config.RTC_MIN_PORT + 1) / n);
  const controlPort = config.CONTROL_PORT + i;
  const publicUrl = new URL(config.PUBLIC_URL);
  publicUrl.port = String(controlPort);
  return {
    WORKERS: "1",
    NODE_ID: `${config.NODE_ID}-${i}`,
    CONTROL_PORT: String(controlPort),
    PUBLIC_URL: publicUrl.toString().replace(/\/$/, ""),
    RTC_MIN_PORT: String(config.RTC_MIN_PORT + i * span),
    RTC_MAX_PORT: String(config.RTC_MIN_PORT + (i + 1) * span - 1),
  };
}
