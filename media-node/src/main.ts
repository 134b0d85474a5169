import { randomUUID } from "node:crypto";
import type { NodeEvent } from "@sfu/shared";
import { loadConfig, type Config } from "./config.ts";
import { TimerScheduler } from "./clock.ts";
import { answer } from "./control.ts";
import { Drain } from "./drain.ts";
import { EdgeLink } from "./edge-link.ts";
import { describeEgress, egressPath } from "./egress/native-egress.ts";
import { prometheus, serveHealth } from "./health.ts";
import { log, setLogLevel } from "./log.ts";
import { MediaNode } from "./media-node.ts";
import { supervise, type WorkerState } from "./supervisor.ts";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  setLogLevel(config.LOG_LEVEL);
  if (config.WORKERS === 1) {
    try {
      const egress = egressPath();
      log("info", egress.kind === "native" ? "egress: native addon" : "egress: TypeScript path", egress.kind === "native" ? { file: egress.file } : { reason: egress.reason });
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  // Input must never crash the node: a stray rejection inside werift is logged, not fatal.
  process.on("unhandledRejection", (err) => log("error", "unhandled rejection", { error: String(err) }));
  if (config.WORKERS > 1) return supervise(config);
  await runNode(config);
}

async function runNode(config: Config): Promise<void> {
  const instanceId = randomUUID();
  // The node's one clock and one set of timers, closed when the node exits.
  const scheduler = new TimerScheduler();
  const clock = scheduler.clock;
  const report = (event: NodeEvent) => link.send(event);
  const net = { announcedIp: config.ANNOUNCED_IP, bindIp: config.RTC_BIND_IP, portRange: [config.RTC_MIN_PORT, config.RTC_MAX_PORT] as [number, number] };
  const node = new MediaNode(net, scheduler, config.CAPACITY);
  node.events.on("participant-failed", (e) => report({ type: "participant-failed", ...e }));
  node.events.on("active-speaker", (e) => report({ type: "active-speaker", ...e }));
  node.events.on("layer-demand", (e) => report({ type: "layer-demand", ...e }));
  let lastCpu = 0;
  const link: EdgeLink = new EdgeLink(
    {
      workerUrl: config.WORKER_URL,
      nodeKey: config.NODE_KEY[0]!,
      nodeId: config.NODE_ID,
      instanceId,
      region: config.REGION,
      capacity: config.CAPACITY,
      heartbeatMs: config.HEARTBEAT_MS,
      inventoryMs: config.INVENTORY_MS,
    },
    {
      load: (now) => {
        const load = node.load(now);
        lastCpu = load.cpu;
        return load;
      },
      rooms: () => [...node.rooms.keys()],
      held: () => node.held(),
      welcome: (keepRooms) => {
        const keep = new Set(keepRooms);
        for (const room of [...node.rooms.keys()]) {
          if (keep.has(room)) continue;
          log("info", "freeing a room the edge moved elsewhere", { room });
          node.closeRoom(room);
        }
        // A node that redials while draining tells the new socket too.
        if (drain.draining) link.send({ type: "drain" });
      },
      request: (req) => answer(node, req, clock, { allowImpairment: config.DEBUG_IMPAIRMENT === "1" }),
      connectionChanged: () => tellSupervisor(),
    },
    scheduler,
  );

  const tellSupervisor = () => {
    if (process.connected) process.send?.({ type: "state", connected: link.connected, draining: drain.draining } satisfies WorkerState);
  };

  if (config.HEALTH_PORT !== 0) {
    await serveHealth(config.HEALTH_PORT, {
      healthz: () => {
        const { rooms, participants } = node.counts();
        const body = { ok: link.connected, nodeId: config.NODE_ID, connected: link.connected, draining: drain.draining, rooms, participants, pid: process.pid, instanceId, egress: describeEgress() };
        return { status: link.connected ? 200 : 503, body };
      },
      metrics: () => {
        const { rooms, participants, tracks } = node.counts();
        return prometheus([
          { name: "sfu_node_connected", help: "1 while the node is connected to the edge", type: "gauge", value: link.connected ? 1 : 0 },
          { name: "sfu_node_rooms", help: "rooms held", type: "gauge", value: rooms },
          { name: "sfu_node_participants", help: "participants held", type: "gauge", value: participants },
          { name: "sfu_node_tracks", help: "published tracks forwarded", type: "gauge", value: tracks },
          { name: "sfu_node_cpu", help: "share of one core used, as of the last heartbeat", type: "gauge", value: lastCpu },
          { name: "sfu_node_reconnects_total", help: "connections to the edge after the first", type: "counter", value: link.reconnects },
          { name: "sfu_node_draining", help: "1 while the node drains before exiting", type: "gauge", value: drain.draining ? 1 : 0 },
          ...egressMetrics(),
        ]);
      },
    });
  }

  let exiting = false;
  const exit = async (code: number) => {
    if (exiting) return;
    exiting = true;
    node.close();
    await link.close();
    scheduler.close();
    process.exit(code);
  };

  const drain: Drain = new Drain(scheduler, config.DRAIN_TIMEOUT_MS, {
    rooms: () => node.rooms.size,
    participants: () => node.counts().participants,
    tellEdge: () => link.send({ type: "drain" }),
    started: () => tellSupervisor(),
    exit: () => void exit(0),
    exitNow: () => process.exit(1),
  });
  node.events.on("room-closed", () => drain.roomClosed());
  const onSignal = (signal: NodeJS.Signals) => drain.signal(signal);
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // Under a supervisor: it asks for the drain over IPC, and a supervisor that vanished leaves nobody to stop this worker.
  process.on("message", (msg: { type?: string }) => msg?.type === "drain" && drain.start("supervisor"));
  process.on("disconnect", () => drain.start("supervisor gone"));

  log("info", "media node starting", { nodeId: config.NODE_ID, instanceId, worker: config.WORKER_URL, region: config.REGION, capacity: config.CAPACITY });
  link.start();
}

function egressMetrics(): Parameters<typeof prometheus>[0] {
  const egress = describeEgress();
  const metrics: Parameters<typeof prometheus>[0] = [{ name: "sfu_node_egress_native", help: "1 when RTP leaves through the native addon, 0 on the TypeScript path", type: "gauge", value: egress.path === "native" ? 1 : 0 }];
  if (egress.stats) {
    metrics.push(
      { name: "sfu_node_egress_packets_total", help: "RTP packets the native egress wrote to sockets", type: "counter", value: egress.stats.sent },
      { name: "sfu_node_egress_dropped_total", help: "RTP packets refused by a full socket buffer", type: "counter", value: egress.stats.dropped },
      { name: "sfu_node_egress_errors_total", help: "RTP packets a socket refused for another reason", type: "counter", value: egress.stats.errors },
    );
  }
  return metrics;
}

main().catch((err: Error) => {
  log("error", "media node failed to start", { error: err.message });
  process.exit(1);
});
