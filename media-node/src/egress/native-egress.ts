import type { Socket } from "node:dgram";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A native SRTP sender: one OpenSSL context for an outgoing SRTP session, and its UDP path. */
export type NativeSender = { readonly __brand: "NativeSender" };

/** The N-API addon in media-node/native (egress.cc). */
export interface NativeEgressAddon {
  createSender(profile: number, sessionKey: Buffer, sessionSalt: Buffer, authKey?: Buffer): NativeSender;
  /** Where `send` writes: a UDP socket's file descriptor and the peer; false if `host` is not an IP literal. */
  setPath(sender: NativeSender, fd: number, host: string, port: number): boolean;
  /**
   * Writes the RTP header, protects the packet and queues it for the next `flush`. Returns its length
   * on the wire, 0 when the sender has no path, -1 when the payload is too large for the native path.
   */
  send(sender: NativeSender, payload: Buffer, byte1: number, seq: number, timestamp: number, ssrc: number, roc: number, twccExtId: number, transportSeq: number): number;
  /** The same packet written into `out` instead of queued (tests compare it with the TypeScript path). */
  protect(sender: NativeSender, payload: Buffer, byte1: number, seq: number, timestamp: number, ssrc: number, roc: number, twccExtId: number, transportSeq: number, out: Buffer): number;
  /** Sends every queued packet, one sendmmsg per socket; returns how many left. */
  flush(): number;
  pending(): number;
  closeSender(sender: NativeSender): void;
  stats(): NativeEgressStats;
}

export interface NativeEgressStats {
  sent: number;
  /** Refused by a full socket buffer (EAGAIN, ENOBUFS): lost as on a congested link. */
  dropped: number;
  errors: number;
  flushes: number;
  syscalls: number;
  lastErrno: number;
}

/** Which send path the node's egress uses, and why. */
export type EgressPath = { kind: "native"; addon: NativeEgressAddon; file: string } | { kind: "js"; reason: string };

/** `EGRESS`: `auto` (native when the addon loads), `native` (required), `js` (the TypeScript path). */
export type EgressChoice = "auto" | "native" | "js";

const ADDON_FILE = "sfu_egress.node";

/** Where the addon may be: an explicit path, the source tree's build, or beside the bundled entrypoint (which loads this module from a chunk). */
function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const list = [join(here, "../../native/build/Release", ADDON_FILE), join(here, ADDON_FILE), join(here, "..", ADDON_FILE)];
  if (process.argv[1]) list.push(join(dirname(process.argv[1]), ADDON_FILE));
  const explicit = process.env.EGRESS_ADDON;
  return explicit ? [explicit, ...list] : list;
}

export function loadEgressPath(choice: EgressChoice): EgressPath {
  if (choice === "js") return { kind: "js", reason: "EGRESS=js" };
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const file of candidates()) {
    if (!existsSync(file)) continue;
    try {
      return { kind: "native", addon: require(file) as NativeEgressAddon, file };
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
    }
  }
  const reason = errors.length ? `the addon did not load (${errors.join("; ")})` : "the addon is not built (npm install builds it with node-gyp)";
  if (choice === "native") throw new Error(`EGRESS=native but ${reason}`);
  return { kind: "js", reason };
}

let chosen: EgressPath | undefined;

/** The process's egress path, chosen once from `EGRESS` (default auto). */
export function egressPath(): EgressPath {
  chosen ??= loadEgressPath(parseChoice(process.env.EGRESS));
  return chosen;
}

export function parseChoice(value: string | undefined): EgressChoice {
  if (value === undefined || value === "" || value === "auto") return "auto";
  if (value === "native" || value === "js") return value;
  throw new Error(`EGRESS must be auto, native or js, not ${JSON.stringify(value)}`);
}

/** What /healthz and the start log say about the send path. */
export function describeEgress(path: EgressPath = egressPath()): { path: "native" | "js"; reason?: string; stats?: NativeEgressStats } {
  return path.kind === "native" ? { path: "native", stats: path.addon.stats() } : { path: "js", reason: path.reason };
}

/** A `dgram` socket's live handle: `open()` turns false the moment the socket closes (its fd may then be reused). */
export interface UdpHandle {
  fd: number;
  open(): boolean;
}

/**
 * The file descriptor under a `dgram` socket, read from Node's internal state (the public
 * `_handle` getter is deprecated and warns); undefined when it cannot be found.
 */
export function udpHandle(socket: Socket): UdpHandle | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === "state symbol");
  const state = key && (socket as unknown as Record<symbol, { handle?: { fd?: unknown } | null } | undefined>)[key];
  const handle = state?.handle;
  const fd = handle?.fd;
  if (!state || typeof fd !== "number" || fd < 0) return undefined;
  return { fd, open: () => state.handle === handle };
}

let flushQueued = false;

/**
 * Queues a flush of the addon's packets for when the current task ends: every copy a received
 * packet fans out to leaves together, and no socket can close between the queueing and the send.
 */
export function flushSoon(addon: NativeEgressAddon): void {
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(() => {
    flushQueued = false;
    addon.flush();
  });
}
