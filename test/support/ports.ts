/**
 * Free loopback ports for the processes a system test starts, so that no file hand-picks its own.
 * A port is free when it could be bound just now; the processes bind it a moment later.
 */
import { createSocket } from "node:dgram";
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/**
 * The first of `count` consecutive UDP ports free on 127.0.0.1 (each bound once, in turn), in
 * whole blocks of UDP_BLOCK ports that this process claims for its lifetime: a media node binds
 * its ports only as PeerConnections come, so two test runs on one machine (a developer's and a
 * helper's) would otherwise pick overlapping ranges now and then, and their nodes would take
 * each other's packets.
 */
export async function freeUdpRange(count: number): Promise<number> {
  const blocks = Math.ceil(count / UDP_BLOCK);
  const starts = Array.from({ length: (UDP_HIGH - UDP_LOW) / UDP_BLOCK - blocks + 1 }, (_, i) => i).sort(() => Math.random() - 0.5);
  for (const start of starts) {
    const first = UDP_LOW + start * UDP_BLOCK;
    if (overlapsHandedOut(first, count) || !claimBlocks(start, blocks)) continue;
    let free = true;
    for (let port = first; free && port < first + count; port++) free = await udpFree(port);
    if (free) return handOut(first, count);
  }
  throw new Error(`no ${count} consecutive free UDP ports on 127.0.0.1 in ${UDP_LOW}–${UDP_HIGH}`);
}

const UDP_BLOCK = 100;
const claimed: string[] = [];
const claimFile = (block: number) => join(tmpdir(), `sfu-test-udp-${UDP_LOW + block * UDP_BLOCK}.claim`);
process.once("exit", () => {
  for (const file of claimed) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
});

/** Claims blocks `start` … `start + n - 1` for this process (all or none); a dead process's claims are taken over. */
function claimBlocks(start: number, n: number): boolean {
  const taken: string[] = [];
  for (let b = start; b < start + n; b++) {
    const file = claimFile(b);
    if (!claimFileFor(file)) {
      for (const t of taken) unlinkSync(t);
      return false;
    }
    taken.push(file);
  }
  claimed.push(...taken);
  return true;
}

function claimFileFor(file: string): boolean {
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch {
      if (!claimIsStale(file)) return false;
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first
      }
    }
  }
  return false;
}

function claimIsStale(file: string): boolean {
  try {
    const text = readFileSync(file, "utf8");
    if (text === "") return false; // its process is writing its pid now
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) return true;
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "EPERM";
  }
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
