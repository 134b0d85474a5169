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
