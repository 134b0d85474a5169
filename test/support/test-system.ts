import { startSystem, type RunningSystem, type SystemOptions } from "../../scripts/system.ts";
import { nodeHealth, nodeMetric, type NodeHealth } from "./node-health.ts";
import { freeTcpPorts, freeUdpRange } from "./ports.ts";

/** startSystem's options, less the ports: those are found free on 127.0.0.1 at each start. */
export type TestSystemOptions = Omit<SystemOptions, "workerPort" | "inspectorPort" | "healthPortBase" | "rtcPortBase">;

/** A running system whose media nodes serve /healthz and /metrics, node i on healthPortBase + i. */
export interface TestSystem extends RunningSystem {
  workerPort: number;
  healthPortBase: number;
  nodeHealth(i: number): Promise<NodeHealth>;
  nodeMetric(i: number, name: string): Promise<number>;
}

const RTC_PORTS_PER_NODE = 1000;

/** Starts the system on free ports (worker, inspector and health ports together; RTC ports 1000 a node); VERBOSE streams its output. */
export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const nodes = options.nodes ?? 1;
  // One block for all TCP ports, so that no two of them are handed out twice.
  const workerPort = await freeTcpPorts(2 + nodes);
  const healthPortBase = workerPort + 2;
  const rtcPortBase = await freeUdpRange(Math.max(nodes, 1) * RTC_PORTS_PER_NODE);
  const system = await startSystem({
    verbose: Boolean(process.env.VERBOSE),
    ...options,
    workerPort,
    inspectorPort: workerPort + 1,
    healthPortBase,
    rtcPortBase,
  });
  return {
    ...system,
    workerPort,
    healthPortBase,
    nodeHealth: (i) => nodeHealth(healthPortBase + i),
    nodeMetric: (i, name) => nodeMetric(healthPortBase + i, name),
  };
}
