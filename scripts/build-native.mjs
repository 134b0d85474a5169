// Builds the media node's optional native egress (media-node/native) with node-gyp against the
// headers of the Node that runs the project, offline: the `node` devDependency ships them, and so
// does a Node installed from a tarball or the official image (<prefix>/include/node). Run by
// `npm install` (root postinstall); a failed build leaves the TypeScript path and says why.
// Needs python3, make and g++ (Debian: apt-get install -y python3 make g++).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const native = join(root, "media-node/native");
const strict = process.argv.includes("--strict");

function nodeDir() {
  const fromPackage = join(root, "node_modules/node/node_modules");
  if (existsSync(fromPackage)) {
    for (const name of readdirSync(fromPackage)) {
      const dir = join(fromPackage, name);
      if (name.startsWith("node-") && existsSync(join(dir, "include/node/node_api.h"))) return dir;
    }
  }
  const prefix = resolve(dirname(process.execPath), "..");
  if (existsSync(join(prefix, "include/node/node_api.h"))) return prefix;
  return undefined;
}

function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), "../node_modules/node-gyp/bin/node-gyp.js"));
  candidates.push(join(dirname(process.execPath), "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"), "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js", "/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
  return candidates.find((c) => c && existsSync(c));
}

function fail(reason) {
  const line = `native egress not built: ${reason}; the media node will use its TypeScript send path`;
  if (strict) {
    console.error(line);
    process.exit(1);
  }
  console.warn(line);
  process.exit(0);
}

const dir = nodeDir();
if (!dir) fail("no Node headers found (node_modules/node or <prefix>/include/node)");
const gyp = nodeGyp();
if (!gyp) fail("node-gyp not found (it ships with npm)");
try {
  execFileSync(process.execPath, [gyp, "rebuild", "--nodedir", dir, "--loglevel", "warn"], { cwd: native, stdio: ["ignore", "inherit", "inherit"] });
} catch (err) {
  fail(`node-gyp failed (${err.message.split("\n")[0]})`);
}
console.log(`native egress built: ${join(native, "build/Release/sfu_egress.node")} (Node headers ${dir})`);
