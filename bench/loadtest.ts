/**
 * Load test through the real edge signaling: R rooms, each with P publishers sending the real VP8
 * clip (and optionally Opus-shaped audio) and S subscribers that do not decode.
 *
 *   npm run loadtest -- --rooms R --publishers P --subscribers S --duration T
 *       [--full 1] [--audio] [--pacing 3750] [--concurrency 1] [--nodes 1] [--url http://127.0.0.1:8787] [--out bench/RESULTS.md]
 *
 * Without --url it starts the system (wrangler dev + --nodes media nodes); with --url it uses a
 * running one (its `/dev/token` route must be on) and finds its media node processes on this
 * machine by their WORKER_URL. Every participant receives the other publishers' streams; `--full`
 * subscribers per room decrypt and measure forwarding latency, the others count RTP headers.
 * Prints per second: video bitrate received, loss (from gaps in the received sequence numbers),
 * latency p50/p99, node CPU; at the end join
 * time (join request → first media packet), node CPU and RSS (start → end) per node, and a summary.
 */
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startSystem, type RunningSystem } from "../scripts/system.ts";
import { cpuSeconds, rssMiB } from "../test/support/proc-cpu.ts";
import { GeneratorLoad, generatorBound, machineLine, onInterrupt, percentile, sleep } from "./lib/measure.ts";
import { MediaPump } from "./lib/media-source.ts";
import { OurParticipant } from "./lib/ours.ts";
import { loadClip } from "./lib/vp8-clip.ts";
import { writeSection } from "./results.ts";

const { values: args } = parseArgs({
  options: {
    rooms: { type: "string", default: "2" },
    publishers: { type: "string", default: "1" },
    subscribers: { type: "string", default: "5" },
    duration: { type: "string", default: "20" },
    full: { type: "string", default: "1" },
    audio: { type: "boolean", default: false },
    nodes: { type: "string", default: "1" },
    url: { type: "string" },
    pacing: { type: "string", default: "3750" },
    /** Subscribers of a room that join at the same time (a join storm). */
    concurrency: { type: "string", default: "1" },
    out: { type: "string" },
  },
});
const R = Number(args.rooms);
const P = Number(args.publishers);
const S = Number(args.subscribers);
const duration = Number(args.duration);
const fullPerRoom = Math.min(S, Number(args.full));
const nodeCount = Math.min(2, Number(args.nodes)); // the generator's port plan leaves RTC ports 60000–61999 for nodes

/** Media node processes on this machine registered with the worker at `url` (their WORKER_URL). */
function findNodePids(url: string): Array<{ label: string; pid: number }> {
  const want = url.replace(/\/+$/, "");
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const env = readFileSync(`/proc/${d}/environ`, "utf8").split("\0");
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      const workerUrl = env.find((e) => e.startsWith("WORKER_URL="))?.slice("WORKER_URL=".length).replace(/\/+$/, "");
      const id = env.find((e) => e.startsWith("NODE_ID="))?.slice("NODE_ID=".length);
      return workerUrl === want && cmd.includes("media-node") ? [{ label: id ?? `pid ${d}`, pid: Number(d) }] : [];
    } catch {
      return [];
    }
  });
}

let system: RunningSystem | undefined;
if (!args.url) system = await startSystem({ workerPort: 18811, inspectorPort: 19251, rtcPortBase: 60000, nodes: nodeCount, verbose: process.env.VERBOSE === "1" });
if (system) onInterrupt(() => system!.stop());
const url = args.url ?? system!.url;
const nodes = system ? system.nodes.map((n, i) => ({ label: `node-${i + 1}`, pid: n.pid! })) : findNodePids(args.url!);
if (!nodes.length) console.warn("no media node process found on this machine: node CPU and RSS are not reported");
const rssIdle = nodes.map((n) => rssMiB(n.pid));

const pump = new MediaPump(loadClip(), Number(args.pacing));
interface Room {
  publishers: OurParticipant[];
  subscribers: OurParticipant[];
  sent: Array<{ readonly videoSent: number }>;
}
const rooms: Room[] = [];
const joinStart = performance.now();
await Promise.all(Array.from({ length: R }, async (_, r) => {
  const name = `load-${Date.now()}-${r}`;
  const room: Room = { publishers: [], subscribers: [], sent: [] };
  rooms.push(room);
  for (let p = 0; p < P; p++) {
    const pub = await OurParticipant.join(url, name, `pub-${p}`, "light");
    await pub.publish();
    room.publishers.push(pub);
    room.sent.push(pump.add(pub, { audio: args.audio }));
  }
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Number(args.concurrency)) }, async () => {
    for (let s = next++; s < S; s = next++) {
      const sub = await OurParticipant.join(url, name, `sub-${s}`, s < fullPerRoom ? "full" : "light");
      if (P > 0) await sub.subscribed();
      room.subscribers.push(sub);
    }
  }));
}));
const joinSeconds = (performance.now() - joinStart) / 1000;
await sleep(2000); // first media reaches the last joiners, keyframes settle
const everyone = rooms.flatMap((r) => [...r.publishers, ...r.subscribers]);
const joinTimes = rooms.flatMap((r) => r.subscribers).map((s) => (s.tally.firstPacketAt ?? NaN) - s.joinStartedAt);
const neverReceived = joinTimes.filter((t) => Number.isNaN(t)).length;

/** Packets every receiver should get: each publisher's stream goes to S subscribers and P − 1 other publishers. */
const expected = () => rooms.reduce((a, r) => a + r.sent.reduce((b, s) => b + s.videoSent, 0) * (S + P - 1), 0);
/** Packets the receivers' sequence numbers say were sent to them (catches gaps, not a silent stream). */
const seqExpected = () => everyone.reduce((a, p) => a + p.tally.expected, 0);
const received = () => everyone.reduce((a, p) => a + p.tally.packets, 0);
const bytes = () => everyone.reduce((a, p) => a + p.tally.bytes, 0);
const takeLatencies = () => everyone.flatMap((p) => (p.tally.latencies ? p.tally.latencies.splice(0) : []));

takeLatencies();
const rssStart = nodes.map((n) => rssMiB(n.pid));
const cpuStart = nodes.map((n) => cpuSeconds(n.pid));
const load = new GeneratorLoad();
const t0 = performance.now();
const rcv0 = received();
const exp0 = expected();
const seqExp0 = seqExpected();
const bytes0 = bytes();
const all: number[] = [];
let last = { t: t0, exp: seqExp0, rcv: rcv0, bytes: bytes0, cpu: cpuStart };
let boundSeconds = 0;
let worstSecond = 0;
console.log(`${R} rooms × (${P} publishers + ${S} subscribers) joined in ${joinSeconds.toFixed(1)} s; measuring ${duration} s`);
for (let sec = 1; sec <= duration; sec++) {
  const tick = new GeneratorLoad();
  await sleep(t0 + sec * 1000 - performance.now());
  const now = { t: performance.now(), exp: seqExpected(), rcv: received(), bytes: bytes(), cpu: nodes.map((n) => cpuSeconds(n.pid)) };
  const dt = (now.t - last.t) / 1000;
  const lat = takeLatencies().sort((a, b) => a - b);
  all.push(...lat);
  const loss = Math.max(0, 1 - (now.rcv - last.rcv) / Math.max(1, now.exp - last.exp));
  worstSecond = Math.max(worstSecond, loss);
  const gen = tick.read();
  if (generatorBound(gen)) boundSeconds++;
  console.log(
    `t=${String(sec).padStart(3)} s  rx ${(((now.bytes - last.bytes) * 8) / dt / 1e6).toFixed(1).padStart(6)} Mbps  loss ${(loss * 100).toFixed(2).padStart(6)} %  ` +
      `latency p50 ${percentile(lat, 50).toFixed(1)} ms p99 ${percentile(lat, 99).toFixed(1)} ms  ` +
      nodes.map((n, i) => `${n.label} CPU ${(((now.cpu[i]! - last.cpu[i]!) / dt) * 100).toFixed(0)} %`).join("  ") +
      `  generator ELU ${(gen.elu * 100).toFixed(0)} % loop delay p99 ${gen.lagP99.toFixed(0)} ms${generatorBound(gen) ? " (generator-bound)" : ""}`,
  );
  last = now;
}
const expEnd = expected();
await sleep(300); // packets in flight
const wall = (performance.now() - t0) / 1000;
const totalSeqLoss = Math.max(0, 1 - (received() - rcv0) / Math.max(1, seqExpected() - seqExp0));
const totalLoss = Math.max(0, 1 - (received() - rcv0) / Math.max(1, expEnd - exp0));
const gen = load.read();
const nodeRows = nodes.map((n, i) => {
  const rss = rssMiB(n.pid);
  return { ...n, cpu: (cpuSeconds(n.pid) - cpuStart[i]!) / wall, idle: rssIdle[i]!, start: rssStart[i]!, end: rss, growth: (rss / rssStart[i]! - 1) * 100 };
});
all.sort((a, b) => a - b);
const joins = joinTimes.filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
/** Median time of each join step after the previous one (subscribers). */
const stepNames = ["socket", "joined", "offer", "answered", "connected"] as const;
const stepMedians = stepNames.map((name, i) => {
  const deltas = rooms.flatMap((r) => r.subscribers).map((s) => (s.steps[name] ?? NaN) - (i === 0 ? s.joinStartedAt : (s.steps[stepNames[i - 1]!] ?? NaN))).filter((d) => !Number.isNaN(d)).sort((a, b) => a - b);
  return `${name} +${percentile(deltas, 50).toFixed(0)}`;
});
const mbps = ((bytes() - bytes0) * 8) / wall / 1e6;

pump.stop();
await Promise.allSettled(everyone.map((p) => p.close()));
await system?.stop();

const command = `npm run loadtest -- --rooms ${R} --publishers ${P} --subscribers ${S} --duration ${duration} --full ${args.full} --pacing ${args.pacing} --concurrency ${args.concurrency}${args.audio ? " --audio" : ""}${args.url ? ` --url ${args.url}` : ` --nodes ${nodeCount}`}`;
const streams = R * P * (S + P - 1);
const report = `## Load test: ${R} rooms × (${P} publishers + ${S} subscribers), ${duration} s (${new Date().toISOString().slice(0, 10)})

Command: \`${command}\`
Machine: ${machineLine()}; ${system ? `system started by the tool (wrangler dev + ${nodeCount} media node${nodeCount > 1 ? "s" : ""})` : `system at ${args.url}`}, nothing pinned. Other work shared the machine, so figures are noisy.
Load: each publisher sends the real VP8 clip (~1.5 Mbps${Number(args.pacing) > 0 ? `, paced at ${args.pacing} kbps` : ", unpaced"})${args.audio ? " and Opus-shaped audio" : ""}; every participant receives the room's other publishers (${streams} forwarded video streams);
${fullPerRoom} subscriber(s) per room decrypt and measure latency, the rest count RTP headers without decrypting.

| figure | value |
|---|---|
| joins (rooms in parallel; ${args.concurrency} subscriber(s) of a room joining at a time) | ${joinSeconds.toFixed(1)} s |
| join time, request → first media packet (subscribers) | p50 ${percentile(joins, 50).toFixed(0)} ms, p99 ${percentile(joins, 99).toFixed(0)} ms${neverReceived ? `; ${neverReceived} subscriber(s) never received media` : ""} |
| join steps, median ms after the previous (token + socket, joined, first subscriber offer, answer sent, connected) | ${stepMedians.join(", ")} |
| video received (average) | ${mbps.toFixed(1)} Mbps |
| loss over the run (received / publishers' packets × receivers) | ${(totalLoss * 100).toFixed(2)} % |
| loss from sequence gaps (worst second) | ${(totalSeqLoss * 100).toFixed(2)} % (${(worstSecond * 100).toFixed(2)} %) |
| forwarding latency p50 / p99 | ${percentile(all, 50).toFixed(1)} / ${percentile(all, 99).toFixed(1)} ms |
| generator CPU / event loop / loop delay p99 | ${(gen.cpu * 100).toFixed(0)} % / ${(gen.elu * 100).toFixed(0)} % / ${gen.lagP99.toFixed(0)} ms${boundSeconds ? ` — generator-bound in ${boundSeconds} of ${duration} s: latency and loss then belong to the generator` : ""} |

| media node | CPU (% of a core) | RSS idle → after joins → end (MiB) | RSS growth during the run |
|---|---|---|---|
${nodeRows.map((n) => `| ${n.label} | ${(n.cpu * 100).toFixed(1)} | ${n.idle.toFixed(0)} → ${n.start.toFixed(0)} → ${n.end.toFixed(0)} | ${n.growth.toFixed(1)} % |`).join("\n")}
`;
console.log(`\n${report}`);
if (args.out) writeSection(args.out, "loadtest", report);
process.exit(0);
