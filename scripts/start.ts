/** `npm start`: the whole system on this machine, then the URL to open. Ctrl-C stops it. */
import { join } from "node:path";
import { devSecrets } from "./dev-vars.ts";
import { ROOT, startSystem } from "./system.ts";

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const secrets = devSecrets();
// TURN only when asked for: TURN_URLS (comma-separated) and TURN_SECRET (coturn's static-auth-secret).
const turnUrls = (process.env.TURN_URLS ?? "").split(",").map((u) => u.trim()).filter(Boolean);
const turn = turnUrls.length && process.env.TURN_SECRET
  ? { urls: turnUrls, secret: process.env.TURN_SECRET, ttlSeconds: process.env.TURN_TTL_S ? Number(process.env.TURN_TTL_S) : undefined }
  : undefined;
if (turnUrls.length && !turn) process.stderr.write("TURN_URLS is set without TURN_SECRET: starting without TURN\n");
const system = await startSystem({
  secret: secrets.FLEET_SECRET,
  tokenSecret: secrets.ROOM_TOKEN_SECRET,
  adminSecret: secrets.ADMIN_TOKEN_SECRET,
  workerPort: num("PORT", 8787),
  inspectorPort: num("INSPECTOR_PORT", 9229),
  nodes: num("MEDIA_NODES", 1),
  healthPortBase: process.env.HEALTH_PORT ? Number(process.env.HEALTH_PORT) : undefined,
  rtcPortBase: num("RTC_PORT_BASE", 40000),
  persistTo: join(ROOT, ".wrangler/state"),
  verbose: process.env.VERBOSE === "1",
  turn,
});

process.stdout.write(
  `\nEdge SFU is up: ${system.nodes.length} media node(s) connected.\n` +
    `Open ${system.url}/ and pick a room, or go straight to ${system.url}/demo?name=Alice\n` +
    (turn ? `TURN offered to browsers: ${turn.urls.join(", ")}\n` : "") +
    `Dev mode: /dev/token mints room tokens for plain links; \`npm run token\` makes invitation links.\n` +
    `Secrets are the dev-only ones in .dev.vars. Ctrl-C stops everything.\n\n`,
);

const shutdown = async () => {
  await system.stop();
  process.exit(0);
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
