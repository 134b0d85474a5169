/**
 * Runs Debian's Janus (1.1.x) for the benchmark: a minimal config in a temporary directory (only
 * the VideoRoom plugin and the plain-HTTP transport on 127.0.0.1, RTP ports 30000–31999, no STUN,
 * no other plugins, transports, loggers or event handlers), started on 127.0.0.1 and stopped at
 * the end.
 *
 * Janus 1.1.2 never gathers ICE candidates on the loopback interface (libnice and Janus skip
 * interfaces flagged IFF_LOOPBACK; `ice_enforce_list = "lo"` silently falls back). To keep all
 * media on 127.0.0.1 a tiny LD_PRELOAD shim, compiled here with gcc, wraps getifaddrs() inside
 * Janus's process only and clears IFF_LOOPBACK on `lo`.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { terminate } from "../../scripts/system.ts";
import { ensureDebianPackage } from "./apt.ts";

export const JANUS_HTTP_PORT = 18088;
export const JANUS_RTP_RANGE = "30000-31999";
const JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus";

const SHIM = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>
int getifaddrs(struct ifaddrs **ifap) {
  static int (*real)(struct ifaddrs **);
  if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
  int r = real(ifap);
  if (r == 0)
    for (struct ifaddrs *i = *ifap; i; i = i->ifa_next)
      if (i->ifa_name && strcmp(i->ifa_name, "lo") == 0) i->ifa_flags &= ~IFF_LOOPBACK;
  return r;
}
`;

export interface JanusServer {
  url: string;
  pid: number;
  process: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

function writeConfig(dir: string): void {
  for (const [kind, libs] of [["plugins", ["libjanus_videoroom.so"]], ["transports", ["libjanus_http.so"]], ["events", []], ["loggers", []]] as const) {
    mkdirSync(join(dir, kind));
    for (const lib of libs) symlinkSync(join(JANUS_LIB, kind, lib), join(dir, kind, lib));
  }
  writeFileSync(join(dir, "janus.jcfg"), `general: {
  configs_folder = "${dir}"
  plugins_folder = "${dir}/plugins"
  transports_folder = "${dir}/transports"
  events_folder = "${dir}/events"
  loggers_folder = "${dir}/loggers"
  debug_level = 3
  session_timeout = 60
}
certificates: {}
media: {
  rtp_port_range = "${JANUS_RTP_RANGE}"
  ipv6 = false
}
nat: {
  nice_debug = false
  ice_enforce_list = "lo"
  ignore_mdns = true
}
plugins: {}
transports: {}
loggers: {}
events: { broadcast = false }
`);
  writeFileSync(join(dir, "janus.transport.http.jcfg"), `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${JANUS_HTTP_PORT}
  ip = "127.0.0.1"
  https = false
}
admin: { admin_http = false admin_https = false }
`);
  writeFileSync(join(dir, "janus.plugin.videoroom.jcfg"), "general: {}\n");
  writeFileSync(join(dir, "shim.c"), SHIM);
  execFileSync("gcc", ["-shared", "-fPIC", "-O2", "-o", join(dir, "loopback-shim.so"), join(dir, "shim.c"), "-ldl"]);
}

export async function startJanus(): Promise<JanusServer> {
  ensureDebianPackage("janus", "janus");
  ensureDebianPackage("gcc", "gcc");
  const dir = mkdtempSync(join(tmpdir(), "bench-janus-"));
  writeConfig(dir);
  const child = spawn("janus", ["-C", join(dir, "janus.jcfg"), "-F", dir, "--interface", "127.0.0.1"], {
    env: { ...process.env, LD_PRELOAD: join(dir, "loopback-shim.so") },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const tail: string[] = [];
  const collect = (b: Buffer) => {
    tail.push(b.toString());
    if (tail.length > 200) tail.shift();
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  // If this process dies without stop() (an exception, Ctrl-C), Janus must not outlive it.
  const reap = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", reap);
  const url = `http://127.0.0.1:${JANUS_HTTP_PORT}/janus`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`janus exited with ${child.exitCode}\n${tail.join("")}`);
    try {
      const res = await fetch(`${url}/info`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`janus did not answer on ${url}\n${tail.join("")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid!,
    process: child,
    log: () => tail.join(""),
    stop: async () => {
      process.off("exit", reap);
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** UDP sockets Janus holds (from `ss -uanp`), to check that its media stays on 127.0.0.1. */
export function janusUdpSockets(pid: number): string[] {
  const out = execFileSync("ss", ["-uanp"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(`pid=${pid},`)).map((l) => l.trim().split(/\s+/)[3] ?? "");
}
