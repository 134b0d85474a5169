/**
 * mediasoup 3.8.4 for the bench, built once and cached in node_modules/.cache/edge-sfu-bench
 * (git-ignored, like the VP8 clip). When the cache is missing: `npm pack mediasoup@3.8.4` from the
 * registry, unpack, install its JS dependencies without scripts, apply two small patches, and build
 * the C++ worker as its postinstall would (`make -C worker`), with -j2. About 6 minutes on this
 * 2-core machine; progress is logged every 20 s. A marker file records a finished build, so later
 * runs only load it.
 *
 * Patches (the 2021 sources predate the toolchain here):
 * - Python 3.11: gyp's `collections.MutableSet` (moved to `collections.abc` in 3.3, removed from
 *   `collections` in 3.10) stops `configure.py`. Also the Makefile prefers a `python2` on PATH; a
 *   pyenv shim for it exists here and fails, so the build passes PYTHON=python3.
 * - glibc 2.34+ (2.36 here): SIGSTKSZ is no longer a constant but a `long` expression
 *   (sysconf(_SC_SIGSTKSZ)), so abseil's `std::max(SIGSTKSZ, 65536)` has mismatched argument types
 *   and does not compile; compare as size_t.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROOT } from "../../scripts/system.ts";
import { ensureDebianPackage } from "./apt.ts";
import type { MediasoupModule } from "./mediasoup-types.ts";

export const MEDIASOUP_VERSION = "3.8.4";
const CACHE = join(ROOT, "node_modules/.cache/edge-sfu-bench");
const DIR = join(CACHE, `mediasoup-${MEDIASOUP_VERSION}`);
const MARKER = join(DIR, ".edge-sfu-bench-built");
export const MEDIASOUP_WORKER_BIN = join(DIR, "worker/out/Release/mediasoup-worker");

interface Patch {
  file: string;
  from: string;
  to: string;
  why: string;
}

export const PATCHES: Patch[] = [
  {
    file: "worker/deps/gyp/pylib/gyp/common.py",
    from: "class OrderedSet(collections.MutableSet):",
    to: "import collections.abc\nclass OrderedSet(collections.abc.MutableSet):",
    why: "Python 3.10+ removed collections.MutableSet (gyp configure fails with AttributeError)",
  },
  {
    file: "worker/deps/libwebrtc/deps/abseil-cpp/abseil-cpp/absl/debugging/failure_signal_handler.cc",
    from: "std::max(SIGSTKSZ, 65536)",
    to: "std::max<size_t>(SIGSTKSZ, 65536)",
    why: "glibc 2.34+ defines SIGSTKSZ as a long sysconf() call, so std::max(long, int) does not compile",
  },
];

function log(msg: string): void {
  console.error(`[mediasoup build] ${msg}`);
}

function applyPatches(dir: string): void {
  for (const p of PATCHES) {
    const path = join(dir, p.file);
    const text = readFileSync(path, "utf8");
    if (text.includes(p.to)) continue;
    if (!text.includes(p.from)) throw new Error(`mediasoup patch does not apply to ${p.file}: "${p.from}" not found`);
    writeFileSync(path, text.replace(p.from, p.to));
    log(`patched ${p.file}: ${p.why}`);
  }
}

/** Object files the generated makefiles will build, for a progress figure. */
function objectTargets(outDir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".target.mk")) n += (readFileSync(join(d, e.name), "utf8").match(/^\t\$\(obj\)\.(target|\$\(TOOLSET\))\/\$\(TARGET\)\/.*\.o/gm) ?? []).length;
    }
  };
  if (existsSync(outDir)) walk(outDir);
  return n;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let compiled = 0;
    let last = "";
    let tail = "";
    let total = 0;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-8000);
      for (const line of text.split("\n")) {
        const m = /^\s+(CXX|CC)\(target\) (.*)$/.exec(line);
        if (m) {
          compiled++;
          last = m[2]!.split("/").pop()!;
        }
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setInterval(() => {
      total ||= objectTargets(join(cwd, "worker/out"));
      const s = Math.round((performance.now() - started) / 1000);
      log(`${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s: ${compiled}${total ? `/${total}` : ""} files compiled${last ? `, last ${last}` : ""}`);
    }, 20_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearInterval(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${tail}`));
    });
  });
}

/** Makes sure the cached mediasoup build exists (building it if needed) and returns its directory. */
export async function ensureMediasoup(): Promise<string> {
  if (existsSync(MARKER) && existsSync(MEDIASOUP_WORKER_BIN)) return DIR;
  ensureDebianPackage("python3", "python3");
  ensureDebianPackage("make", "make");
  ensureDebianPackage("g++", "g++");
  const started = performance.now();
  mkdirSync(CACHE, { recursive: true });
  const work = `${DIR}.partial`;
  if (!existsSync(join(work, "package.json"))) {
    log(`fetching mediasoup@${MEDIASOUP_VERSION} from the npm registry`);
    const tgz = join(CACHE, `mediasoup-${MEDIASOUP_VERSION}.tgz`);
    if (!existsSync(tgz)) {
      execFileSync("npm", ["pack", `mediasoup@${MEDIASOUP_VERSION}`, "--pack-destination", CACHE, "--silent"], { cwd: CACHE, stdio: ["ignore", "ignore", "inherit"] });
    }
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    execFileSync("tar", ["xzf", tgz, "-C", work, "--strip-components=1"], { stdio: "inherit" });
  }
  log("installing its JS dependencies (no scripts)");
  execFileSync("npm", ["install", "--ignore-scripts", "--omit=dev", "--no-audit", "--no-fund", "--no-package-lock", "--silent"], { cwd: work, stdio: ["ignore", "ignore", "inherit"] });
  applyPatches(work);
  log("building the C++ worker (make -C worker, -j2; about 6 minutes)");
  await run("make", ["-C", "worker", "PYTHON=python3", "CORES=2"], work);
  rmSync(DIR, { recursive: true, force: true });
  renameSync(work, DIR);
  const seconds = (performance.now() - started) / 1000;
  writeFileSync(MARKER, JSON.stringify({ version: MEDIASOUP_VERSION, builtAt: new Date().toISOString(), seconds: Math.round(seconds), patches: PATCHES.map((p) => p.why) }, null, 2));
  log(`done in ${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s; cached at ${DIR}`);
  return DIR;
}

/** Loads the cached mediasoup build (building it first if needed). */
export async function loadMediasoup(): Promise<MediasoupModule> {
  const dir = await ensureMediasoup();
  process.env.MEDIASOUP_WORKER_BIN = MEDIASOUP_WORKER_BIN;
  return createRequire(join(dir, "package.json"))("./lib/index.js") as MediasoupModule;
}

// `npx tsx bench/lib/mediasoup-build.ts` builds the cache on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  await ensureMediasoup();
  log(`worker binary: ${MEDIASOUP_WORKER_BIN}`);
}
