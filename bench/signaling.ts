/**
 * Signaling round trips through the edge, one participant at a time (no load): N werift
 * participants join one room in turn, publish, and wait for their subscriber to connect. Per
 * participant: `join` → `joined`, `publish` → `publish-answer` (room → node → room), and `joined`
 * → first `subscriber-offer`.
 *
 *   npm run bench:signaling -- [--participants 30] [--out bench/RESULTS.md]
 */
import { parseArgs } from "node:util";
import { startSystem } from "../scripts/system.ts";
import { machineLine, percentile } from "./lib/measure.ts";
import { OurParticipant } from "./lib/ours.ts";
import { writeSection } from "./results.ts";

const { values: args } = parseArgs({ options: { participants: { type: "string", default: "30" }, out: { type: "string" } } });
const n = Number(args.participants);
const system = await startSystem({ workerPort: 18850, inspectorPort: 19290, rtcPortBase: 62000, nodes: 1 });
const room = `signaling-${Date.now()}`;
const people: OurParticipant[] = [];
const joined: number[] = [];
const publish: number[] = [];
const offer: number[] = [];
try {
  for (let i = 0; i < n; i++) {
    const p = await OurParticipant.join(system.url, room, `p${i}`, "light");
    people.push(p);
    await p.publish();
    if (i > 0) await p.subscribed();
    joined.push(p.steps.joined! - p.steps.socket!);
    publish.push(p.steps.publishAnswered! - p.steps.publishSent!);
    if (i > 0) offer.push(p.steps.offer! - p.steps.joined!);
  }
} finally {
  await Promise.allSettled(people.map((p) => p.close()));
  await system.stop();
}
const row = (name: string, xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return `| ${name} | ${percentile(sorted, 50).toFixed(1)} | ${percentile(sorted, 99).toFixed(1)} | ${sorted.length} |`;
};
const report = `## Signaling round trips (${new Date().toISOString().slice(0, 10)})

Command: \`npm run bench:signaling -- --participants ${n}\`
Machine: ${machineLine()}; wrangler dev + 1 media node on 127.0.0.1; participants join one room one after another, each publishing the real codecs of a werift peer.

| round trip | p50 ms | p99 ms | samples |
|---|---|---|---|
${row("join → joined (room only)", joined)}
${row("publish → publish-answer (room → node → room)", publish)}
${row("joined → first subscriber-offer (room → node → room)", offer)}
`;
console.log(`\n${report}`);
if (args.out) writeSection(args.out, "bench:signaling", report);
process.exit(0);
