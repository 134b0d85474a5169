import { createServer, type Server } from "node:http";
import { log } from "./log.ts";

export interface HealthRoutes {
  /** GET /healthz: the status (200 healthy, 503 not) and a JSON body. */
  healthz(): { status: number; body: unknown };
  /** GET /metrics: Prometheus text. */
  metrics?(): string;
}

/** /healthz and /metrics on 127.0.0.1 only: for the local supervisor, container runtime or scraper, never the internet. */
export function serveHealth(port: number, routes: HealthRoutes): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://node").pathname;
    if (req.method === "GET" && path === "/healthz") {
      const { status, body } = routes.healthz();
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    } else if (req.method === "GET" && path === "/metrics" && routes.metrics) {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(routes.metrics());
    } else {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not-found" }));
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      server.unref();
      log("info", "health endpoint listening", { host: "127.0.0.1", port });
      resolve(server);
    });
  });
}

/** Prometheus text for gauges and counters without labels. */
export function prometheus(metrics: Array<{ name: string; help: string; type: "gauge" | "counter"; value: number }>): string {
  return metrics.map((m) => `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name} ${m.value}\n`).join("");
}
