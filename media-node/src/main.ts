import { loadConfig, type Config } from "./config.ts";
import { supervise } from "./supervisor.ts";
import { createControlServer } from "./control-server.ts";
import { log, setLogLevel } from "./log.ts";
import { MediaNode } from "./media-node.ts";
import { postToWorker, Registration } from "./registration.ts";
import type { NodeEvent } from "@sfu/shared";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  setLogLevel(config.LOG_LEVEL);
  if (config.WORKERS > 1) return supervise(config);
  const node = new MediaNode(
    { announcedIp: config.ANNOUNCED_IP, bindIp: config.RTC_BIND_IP, portRange: [config.RTC_MIN_PORT, config.RTC_MAX_PORT] },
    {
      participantFailed: (room, participantId) => report({ type: "participant-failed", nodeId: config.NODE_ID, room, participantId }),
      speakerChanged: (room, participantId) => report({ type: "active-speaker", nodeId: config.NODE_ID, room, participantId }),
      layerDemand: (room, participantId, trackId, rids) => report({ type: "layer-demand", nodeId: config.NODE_ID, room, participantId, trackId, rids }),
    },
  );
  function report(event: NodeEvent): void {
    postToWorker(config, "/nodes/events", event).catch((err: Error) => log("warn", "could not report to the worker", { event: event.type, error: err.message }));
  }
  const server = createControlServer(node, config.FLEET_SECRET, config.NODE_ID, { allowImpairment: config.DEBUG_IMPAIRMENT === "1" });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.CONTROL_PORT, config.CONTROL_HOST, resolve);
  });
  log("info", "control API listening", { host: config.CONTROL_HOST, port: config.CONTROL_PORT, nodeId: config.NODE_ID });
  const registration = new Registration(config, node);

  const shutdown = (signal: string) => {
    log("info", "shutting down", { signal });
    registration.stop();
    node.close();
    server.close();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  // Input must never crash the node: a stray rejection inside werift is logged, not fatal.
  process.on("unhandledRejection", (err) => log("error", "unhandled rejection", { error: String(err) }));

  await registration.start();
}

void main();
