/** `npm start`: the whole system on this machine, then the URL to open. Ctrl-C stops it. */
import { join } from "node:path";
import { ROOT, startSystem } from "./system.ts";

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const system = await startSystem({
  workerPort: num("PORT", 8787),
  inspectorPort: num("INSPECTOR_PORT", 9229),
  nodes: num("MEDIA_NODES", 1),
  controlPortBase: num("CONTROL_PORT", 7100),
  rtcPortBase: num("RTC_PORT_BASE", 40000),
  persistTo: join(ROOT, ".wrangler/state"),
  verbose: process.env.VERBOSE === "1",
});

process.stdout.write(
  `\nEdge SFU is up: ${system.nodes.length} media node(s) registered.\n` +
    `Open ${system.url}/ and pick a room, or go straight to ${system.url}/demo?name=Alice\n` +
    `(dev only: the fleet secret is random for this run). Ctrl-C stops everything.\n\n`,
);

const shutdown = async () => {
  await system.stop();
  process.exit(0);
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
