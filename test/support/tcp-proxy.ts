import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A TCP relay on 127.0.0.1 (on a free port) that a test can cut: every connection through it is torn
 * down at once (both ends reset), as a NAT or load balancer dropping the flow would. New connections
 * still pass, unless the relay is `held`: then they are reset too.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  cuts = 0;
  /** While true, new connections are reset at once (the far side is unreachable). */
  held = false;

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server);
    server.on("connection", (client) => {
      if (proxy.held) return void client.resetAndDestroy();
      const upstream = connect(targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on("close", () => proxy.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resets every connection open through the relay. */
  cut(): void {
    this.cuts++;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
