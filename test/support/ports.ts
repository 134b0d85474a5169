/**
 * Free loopback ports for the processes a system test starts, so that no file hand-picks its own.
 * A port is free when it could be bound just now; the processes bind it a moment later.
 */
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:net";

/**
 * UDP ranges come from below the kernel's ephemeral ports (32768–60999 here), which Chromium's and
 * werift's own sockets use, and away from the ranges `npm start` (40000+) and the benches use.
 */
const UDP_LOW = 20_000;
const UDP_HIGH = 32_000;

/**
 * Ranges handed out by this test file's process (TCP and UDP alike): a process started later may
 * bind its ports only when it needs them, so "free now" is not enough to keep two ranges apart.
 */
const handedOut: Array<{ first: number; count: number }> = [];
const overlapsHandedOut = (first: number, count: number) => handedOut.some((r) => first < r.first + r.count && r.first < first + count);
const handOut = (first: number, count: number) => {
  handedOut.push({ first, count });
  return first;
};

/** The first of `count` consecutive TCP ports free on 127.0.0.1. */
export async function freeTcpPorts(count = 1): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0);
    const held = [first];
    const port = (first.address() as { port: number }).port;
    try {
      if (overlapsHandedOut(port, count)) continue;
      for (let i = 1; i < count; i++) held.push(await listen(port + i));
      return handOut(port, count);
    } catch {
      // one of the following ports is taken: start elsewhere
    } finally {
      await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  }
  throw new Error(`no ${count} consecutive free TCP ports on 127.0.0.1`);
}

/** The first of `count` consecutive UDP ports free on 127.0.0.1 (each bound once, in turn). */
export async function freeUdpRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = UDP_LOW + Math.floor(Math.random() * (UDP_HIGH - UDP_LOW - count));
    let free = !overlapsHandedOut(first, count);
    for (let port = first; free && port < first + count; port++) free = await udpFree(port);
    if (free) return handOut(first, count);
  }
  throw new Error(`no ${count} consecutive free UDP ports on 127.0.0.1 in ${UDP_LOW}–${UDP_HIGH}`);
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}
