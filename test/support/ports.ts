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
 * Ports come from below the kernel's ephemeral range (32768–60999 here), which every outgoing
 * connection and every socket bound to port 0 (Chromium's, werift's, workerd's) draws from: a
 * port found free there can be taken by any of them before our process binds it. TCP listeners get
 * 10100–19999 (Chromium refuses to load pages from 10080), UDP media ranges 20000–31999;
 * `npm start` (8787, 9229, UDP 40000+) and the benches stay clear of both.
 */
const TCP = { name: "tcp", low: 10_100, high: 20_000, block: 10 } as const;
const UDP = { name: "udp", low: 20_000, high: 32_000, block: 100 } as const;
type Space = typeof TCP | typeof UDP;

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

/** The first of `count` consecutive TCP ports free on 127.0.0.1 (see freeRange). */
export function freeTcpPorts(count = 1): Promise<number> {
  return freeRange(TCP, count, tcpFree);
}

/** The first of `count` consecutive UDP ports free on 127.0.0.1 (see freeRange). */
export function freeUdpRange(count: number): Promise<number> {
  return freeRange(UDP, count, udpFree);
}

/**
 * `count` consecutive ports, each free now (bound once, in turn), in whole blocks that this
 * process claims for its lifetime: the processes it starts bind them a moment later, or (a media
 * node) one by one as PeerConnections come, so two test runs on one machine (a developer's and a
 * helper's) must not be handed overlapping ranges.
 */
async function freeRange(space: Space, count: number, isFree: (port: number) => Promise<boolean>): Promise<number> {
  const blocks = Math.ceil(count / space.block);
  const starts = Array.from({ length: (space.high - space.low) / space.block - blocks + 1 }, (_, i) => i).sort(() => Math.random() - 0.5);
  for (const start of starts) {
    const first = space.low + start * space.block;
    if (overlapsHandedOut(first, count) || !claimBlocks(space, start, blocks)) continue;
    let free = true;
    for (let port = first; free && port < first + count; port++) free = await isFree(port);
    if (free) return handOut(first, count);
  }
  throw new Error(`no ${count} consecutive free ${space.name} ports on 127.0.0.1 in ${space.low}–${space.high - 1}`);
}

const claimed: string[] = [];
const claimFile = (space: Space, block: number) => join(tmpdir(), `sfu-test-${space.name}-${space.low + block * space.block}.claim`);
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
function claimBlocks(space: Space, start: number, n: number): boolean {
  const taken: string[] = [];
  for (let b = start; b < start + n; b++) {
    const file = claimFile(space, b);
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

async function tcpFree(port: number): Promise<boolean> {
  try {
    const server = await listen(port);
    await new Promise((resolve) => server.close(resolve));
    return true;
  } catch {
    return false;
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
