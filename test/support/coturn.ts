/**
 * A private coturn (`turnserver`) for the tests: loopback only, REST-API auth with its own random
 * secret, its own ports, no TLS and no CLI. Stopped (its process group) by `stop()`.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { outputTail, terminate } from "../../scripts/system.ts";
import { freeTcpPorts, freeUdpRange } from "./ports.ts";

export const TURNSERVER = process.env.TURNSERVER_PATH ?? "/usr/bin/turnserver";

export interface Coturn {
  /** coturn's static-auth-secret (give it to the worker as TURN_SECRET). */
  secret: string;
  realm: string;
  /** TURN listening port on 127.0.0.1 (UDP and TCP). */
  port: number;
  /** Everything coturn logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Relay (allocation) ports coturn may use. */
const RELAY_PORTS = 100;

/** Starts coturn on a free port, with a free range of relay ports. */
export async function startCoturn(): Promise<Coturn> {
  if (!existsSync(TURNSERVER)) throw new Error(`coturn not found at ${TURNSERVER}: apt-get install -y coturn, or set TURNSERVER_PATH`);
  const opts = { port: await freeTcpPorts(), minPort: await freeUdpRange(RELAY_PORTS) };
  const secret = randomBytes(24).toString("hex");
  const realm = "sfu.test";
  const dir = mkdtempSync(join(tmpdir(), "sfu-coturn-"));
  const child = spawn(TURNSERVER, [
    "-n", // no configuration file: everything is on this command line
    "--use-auth-secret", `--static-auth-secret=${secret}`, `--realm=${realm}`,
    "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${opts.port}`,
    `--min-port=${opts.minPort}`, `--max-port=${opts.minPort + RELAY_PORTS - 1}`,
    // The media node is on 127.0.0.1 too; coturn refuses loopback peers unless told otherwise.
    "--allow-loopback-peers",
    "--no-cli", "--no-tls", "--no-dtls", "--fingerprint", "--no-software-attribute",
    "--log-file=stdout", "--simple-log",
    `--db=${join(dir, "turndb")}`, `--pidfile=${join(dir, "turnserver.pid")}`,
  ], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(chunk.toString());
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  // terminate() reads the tail through this hook, like the system's children.
  (child as typeof child & { outputTail: () => string }).outputTail = () => lines.join("").slice(-4000);
  const stop = async () => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 10_000;
    while (!(await accepts(opts.port))) {
      if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}\n${outputTail(child)}`);
      if (Date.now() > deadline) throw new Error(`turnserver did not listen on 127.0.0.1:${opts.port} within 10 s\n${outputTail(child)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { secret, realm, port: opts.port, log: () => lines.join(""), stop };
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
