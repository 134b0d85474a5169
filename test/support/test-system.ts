import { startSystem, type RunningSystem, type SystemOptions } from "../../scripts/system.ts";
import { nodeHealth, nodeMetric, type NodeHealth } from "./node-health.ts";
import { freeTcpPorts, freeUdpRange } from "./ports.ts";

/** startSystem's options, less the ports: those are found free on 127.0.0.1 at each start. */
export type TestSystemOptions = Omit<SystemOptions, "workerPort" | "inspectorPort" | "healthPortBase" | "rtcPortBase">;

/** The options, or a function that gives them once the worker's port is chosen (before anything starts). */
export type TestSystemSetup = TestSystemOptions | ((chosen: { workerPort: number }) => TestSystemOptions | Promise<TestSystemOptions>);

/** A running system whose media nodes serve /healthz and /metrics, node i on healthPortBase + i. */
export interface TestSystem extends RunningSystem {
  workerPort: number;
  healthPortBase: number;
  nodeHealth(i: number): Promise<NodeHealth>;
  nodeMetric(i: number, name: string): Promise<number>;
}

const RTC_PORTS_PER_NODE = 1000;

/** Starts the system on free ports (TCP: worker and inspector, then a health port a node; UDP: 1000 RTC ports a node); VERBOSE streams its output. */
export async function startTestSystem(setup: TestSystemSetup = {}): Promise<TestSystem> {
  const workerPort = await freeTcpPorts(2);
  const options = typeof setup === "function" ? await setup({ workerPort }) : setup;
  const nodes = options.nodes ?? 1;
  const healthPortBase = await freeTcpPorts(Math.max(nodes, 1));
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
