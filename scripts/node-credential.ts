/**
 * `npm run node-credential -- <node id> [--workers <n>]` prints the NODE_ID and NODE_KEY to give one
 * media node (and that node only): its key, derived from FLEET_SECRET (from the environment, or the
 * dev-only one in `.dev.vars`) and bound to its id. With `--workers n` (a node run with WORKERS=n),
 * one key per worker process, comma-separated.
 */
import { parseArgs } from "node:util";
import { NodeId, nodeCredential } from "@sfu/shared";
import { devSecrets } from "./dev-vars.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { workers: { type: "string", default: "1" } } });
const nodeId = NodeId.safeParse(positionals[0]);
const workers = Number(values.workers);
if (!nodeId.success || positionals.length !== 1 || !Number.isInteger(workers) || workers < 1 || workers > 256) {
  process.stderr.write("usage: npm run node-credential -- <node id: 1-64 of A-Z a-z 0-9 _ . -> [--workers <1-256>]\n");
  process.exit(2);
}
const fleetSecret = process.env.FLEET_SECRET || devSecrets().FLEET_SECRET;
process.stdout.write(`NODE_ID=${nodeId.data}\nNODE_KEY=${await nodeCredential(fleetSecret, nodeId.data, workers)}\n`);
