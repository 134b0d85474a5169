/** What a media node (or a supervisor, which lists its workers) answers on its health port, 127.0.0.1:port. */
export interface NodeHealth {
  status: number;
  ok: boolean;
  connected: boolean;
  draining: boolean;
  nodeId: string;
  rooms: number;
  participants: number;
  pid: number;
  instanceId: string;
  workers?: Array<{ connected: boolean }>;
  /** The RTP send path (media-node/src/egress/native-egress.ts describeEgress). */
  egress: { path: "native" | "js"; reason?: string; stats?: { sent: number; dropped: number; errors: number } };
}

export async function nodeHealth(port: number): Promise<NodeHealth> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, ...((await res.json()) as Omit<NodeHealth, "status">) };
}

/** The health, or undefined while nothing answers on the port. */
export const nodeHealthOrNothing = (port: number) => nodeHealth(port).catch(() => undefined);

/** The node's Prometheus text from /metrics. */
export async function nodeMetrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** One value from /metrics (NaN when the node does not report it). */
export async function nodeMetric(port: number, name: string): Promise<number> {
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(await nodeMetrics(port))?.[1]);
}
