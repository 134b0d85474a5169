/**
 * Forwarding benchmark: one publisher → N subscribers through the real system (worker under
 * wrangler dev, one media node, werift peers over DTLS-SRTP on 127.0.0.1).
 *
 *   npm run bench:forward -- [--steps 10,25,50] [--seconds 15] [--kbps 1500] [--out bench/RESULTS.md]
 *
 * The publisher sends VP8-shaped RTP at the given bitrate (1000-byte payloads carrying an index
 * and the send time); each subscriber decrypts and checks every packet. Per step it prints the media
 * node's CPU (from /proc, all threads), CPU per forwarded stream and per forwarded packet, packets/s
 * forwarded, forwarding latency p50/p99 (send → subscriber receive, same clock) and loss.
 * The node is pinned to CPU 0 and this load generator to CPU 1 when `taskset` exists.
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { RtpHeader, RtpPacket } from "werift";
import { startSystem } from "../scripts/system.ts";
import { cpuSeconds, rssMiB } from "../test/support/proc-cpu.ts";
import { WeriftPeer } from "../test/support/werift-peer.ts";
import { writeSection } from "./results.ts";

const { values: args } = parseArgs({
  options: {
    steps: { type: "string", default: "10,25,50" },
    seconds: { type: "string", default: "15" },
    kbps: { type: "string", default: "1500" },
    out: { type: "string" },
  },
});
const steps = args.steps!.split(",").map(Number);
const seconds = Number(args.seconds);
const PAYLOAD = 1000;
const pktPerSec = Math.round((Number(args.kbps) * 1000) / 8 / (PAYLOAD + 12 + 16));

function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

const system = await startSystem({ workerPort: 18800, inspectorPort: 19240, rtcPortBase: 50000 });
const nodePid = system.nodes[0]!.pid!;
const pinned = pin(nodePid, 0) && pin(process.pid, 1);
const room = `bench-${Date.now()}`;
const publisher = await WeriftPeer.join(system.url, room, "publisher");
await publisher.publish();

const subscribers: WeriftPeer[] = [];
const latencies: number[] = [];
let measuring = false;
let received = 0;

function track(sub: WeriftPeer): void {
  sub.subscriberPc.onTrack.subscribe((t) =>
    t.onReceiveRtp.subscribe((rtp) => {
      if (!measuring || t.kind !== "video" || rtp.payload.length < 13) return;
      received++;
      latencies.push(performance.now() - rtp.payload.readDoubleBE(5));
    }),
  );
}

let seq = 0;
function sendOne(): void {
  const payload = Buffer.alloc(PAYLOAD);
  payload[0] = 0x10; // VP8 descriptor: start of partition
  payload.writeUInt32BE(seq, 1);
  payload.writeDoubleBE(performance.now(), 5);
  publisher.video.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp: Math.floor(seq / 4) * 3000, marker: seq % 4 === 3, ssrc: 1 }), payload));
  seq++;
}

/** Sends at `pktPerSec` for `ms`, in 10 ms ticks; returns packets sent. */
async function pump(ms: number): Promise<number> {
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) / 1000) * pktPerSec);
    while (sent < due) {
      sendOne();
      sent++;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return sent;
}

interface Row {
  n: number;
  pps: number;
  cpu: number;
  usPerPkt: number;
  cpuPerStream: number;
  p50: number;
  p99: number;
  loss: number;
  genElu: number;
  rssStart: number;
  rssEnd: number;
}
const rows: Row[] = [];

for (const n of steps) {
  while (subscribers.length < n) {
    const sub = await WeriftPeer.join(system.url, room, `sub-${subscribers.length}`);
    track(sub);
    await sub.subscriberConnected(20_000);
    subscribers.push(sub);
  }
  await pump(2000); // warm up: keyframe requests, jitter settles
  latencies.length = 0;
  received = 0;
  measuring = true;
  const cpu0 = cpuSeconds(nodePid);
  const rssStart = rssMiB(nodePid);
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const sent = await pump(seconds * 1000);
  await new Promise((r) => setTimeout(r, 300)); // in-flight packets
  measuring = false;
  const wall = (performance.now() - t0) / 1000;
  const cpu = (cpuSeconds(nodePid) - cpu0) / wall;
  const expected = sent * n;
  const sorted = latencies.sort((a, b) => a - b);
  const row: Row = {
    n,
    pps: received / wall,
    cpu,
    usPerPkt: ((cpu * wall) / Math.max(1, received)) * 1e6,
    cpuPerStream: cpu / n,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    loss: expected ? Math.max(0, 1 - received / expected) : 0,
    genElu: performance.eventLoopUtilization(elu0).utilization,
    rssStart,
    rssEnd: rssMiB(nodePid),
  };
  rows.push(row);
  console.log(
    `N=${n}: ${row.pps.toFixed(0)} pkt/s forwarded, node CPU ${(cpu * 100).toFixed(1)} % (${(row.cpuPerStream * 100).toFixed(2)} %/stream, ${row.usPerPkt.toFixed(1)} µs/pkt), ` +
      `latency p50 ${row.p50.toFixed(2)} ms p99 ${row.p99.toFixed(2)} ms, loss ${(row.loss * 100).toFixed(2)} %, ` +
      `node RSS ${row.rssStart.toFixed(0)} → ${row.rssEnd.toFixed(0)} MiB, generator ELU ${(row.genElu * 100).toFixed(0)} %`,
  );
}

await Promise.all([publisher, ...subscribers].map((p) => p.close()));
await system.stop();

const command = `npm run bench:forward -- --steps ${args.steps} --seconds ${seconds} --kbps ${args.kbps}`;
const table = [
  "| subscribers | forwarded pkt/s | node CPU (% of a core) | CPU per stream | µs per forwarded packet | latency p50 / p99 (ms) | loss | node RSS start → end (MiB) | generator event-loop use |",
  "|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.n} | ${r.pps.toFixed(0)} | ${(r.cpu * 100).toFixed(1)} | ${(r.cpuPerStream * 100).toFixed(2)} % | ${r.usPerPkt.toFixed(1)} | ${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} | ${(r.loss * 100).toFixed(2)} % | ${r.rssStart.toFixed(0)} → ${r.rssEnd.toFixed(0)} | ${(r.genElu * 100).toFixed(0)} % |`),
].join("\n");
const report = `## Forwarding: 1 publisher → N subscribers (${new Date().toISOString().slice(0, 10)})

Command: \`${command}\`
Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; media node ${pinned ? "pinned to CPU 0, load generator to CPU 1" : "not pinned (no taskset)"}.
Load: ${pktPerSec} pkt/s of ${PAYLOAD}-byte VP8-shaped payloads (~${args.kbps} kbps), ${seconds} s per step after 2 s warm-up; werift subscribers decrypt every packet.

${table}
`;
console.log(`\n${report}`);
if (args.out) writeSection(args.out, "bench:forward", report);
process.exit(0);
