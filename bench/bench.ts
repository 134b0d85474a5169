/**
 * Side-by-side fan-out benchmark: the same load against our media node, mediasoup 3.8.4 and Janus VideoRoom.
 *
 *   npm run bench -- [--steps 10,25,50,100] [--seconds 20] [--full 3] [--pacing 3750] [--idle 20]
 *                    [--only ours,mediasoup,janus] [--worker-port 18810] [--rtc-port-base 60000] [--mediasoup-ports 63000-63999] [--out bench/RESULTS.md]
 *
 * Two publishers in one room: one sends a real ~1.5 Mbps VP8 clip as a single layer, the other the
 * same picture as three simulcast layers (rids q/h/f: 160×120 150 kbps, 320×240 500 kbps, 640×480
 * 1.5 Mbps; simulcast.ts). Every subscriber receives both, negotiating like a browser (transport-wide-cc
 * header extension and transport-cc feedback; peer-config.ts), and the SFU picks the simulcast layer.
 * Each SFU picks the simulcast layer by its own rules. Every step is measured; a row with loss ≥ 1 % or
 * p99 ≥ 50 ms gets a second window and its verdict (only ≥ 50 % loss ends an SFU's run). Our side is the real system (wrangler dev + one media node,
 * peers signalled through the room); mediasoup is its npm package's C++ worker (built once and cached,
 * mediasoup-build.ts) driven by a minimal SDP translation (mediasoup-sfu.ts); Janus is Debian's janus with
 * a minimal config (bench/lib/janus-server.ts). The SFU is pinned to CPU 0, this generator to
 * CPU 1. Before any participant joins, the SFU's idle RSS and CPU are measured over `--idle` seconds.
 * `--full` subscribers per step decrypt and measure latency; the rest are light (count packets from
 * RTP headers). Per step: SFU CPU from /proc (all threads), CPU per stream and per forwarded
 * packet (both publishers' packets), forwarded pkt/s, latency p50/p99, loss (from RTP sequence numbers,
 * per stream), RSS and RSS per subscriber, generator load.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startSystem } from "../scripts/system.ts";
import { cpuSeconds, rssMiB } from "../test/support/proc-cpu.ts";
import { janusUdpSockets, startJanus } from "./lib/janus-server.ts";
import { JanusSession } from "./lib/janus-client.ts";
import { createRoom, JanusPublisher, JanusSubscriber } from "./lib/janus-videoroom.ts";
import { GeneratorLoad, generatorBound, machineLine, onInterrupt, percentile, pin, cpuBusySeconds, sleep } from "./lib/measure.ts";
import { MediaPump, type Sendable } from "./lib/media-source.ts";
import { MediasoupPublisher, MediasoupSubscriber, startMediasoup, subscriberDetail, udpSockets } from "./lib/mediasoup-sfu.ts";
import { MEDIASOUP_VERSION } from "./lib/mediasoup-build.ts";
import { OurParticipant } from "./lib/ours.ts";
import type { ReceiveMode, Tally } from "./lib/receive.ts";
import { SIMULCAST_LAYERS, simulcastClips } from "./lib/simulcast.ts";
import { loadClip, type Vp8Frame } from "./lib/vp8-clip.ts";
import { passes, summarize, table, type Idle, type Row, type SfuResult } from "./lib/bench-report.ts";
import { writeSection } from "./results.ts";

const { values: args } = parseArgs({
  options: {
    steps: { type: "string", default: "10,25,50,100" },
    seconds: { type: "string", default: "20" },
    full: { type: "string", default: "3" },
    only: { type: "string", default: "ours,mediasoup,janus" },
    pacing: { type: "string", default: "3750" },
    idle: { type: "string", default: "20" },
    "worker-port": { type: "string", default: "18810" },
    "rtc-port-base": { type: "string", default: "60000" },
    "mediasoup-ports": { type: "string", default: "63000-63999" },
    out: { type: "string" },
  },
});
const steps = args.steps!.split(",").map(Number);
const seconds = Number(args.seconds);
const fullCount = Number(args.full);
const idleSeconds = Number(args.idle);
const SFUS = ["ours", "mediasoup", "janus"] as const;
const only = args.only!.split(",").map((s) => s.trim()).filter(Boolean);
for (const o of only) if (!(SFUS as readonly string[]).includes(o)) throw new Error(`--only: unknown SFU "${o}" (use a comma list of ${SFUS.join(", ")})`);

interface Subscriber {
  tally: Tally;
  close(): Promise<void>;
}
/** One RTP stream the pump sends: a single-layer publisher's video, or one simulcast layer. */
interface Stream {
  label: string;
  target: Sendable;
  clip?: Vp8Frame[];
}
interface Sfu {
  name: string;
  pid: number;
  /** Joins the publishers (after the idle measurement) and returns the streams they send. */
  publish(): Promise<Stream[]>;
  /** Video streams each subscriber should receive (one per publisher). */
  publishers: number;
  subscribe(mode: ReceiveMode): Promise<Subscriber>;
  /** A line for the report on where the SFU's media sockets are. */
  sockets(): string;
  /** Optional state worth printing per step (mediasoup: the simulcast layer each consumer forwards). */
  detail?(subs: Subscriber[]): Promise<string>;
  stop(): Promise<void>;
}

const simulcastStreams = (layers: Sendable[]): Stream[] => {
  const clips = simulcastClips();
  return layers.map((target, i) => ({ label: `simulcast ${SIMULCAST_LAYERS[i]!.rid}`, target, clip: clips[i] }));
};

async function ours(): Promise<Sfu> {
  const workerPort = Number(args["worker-port"]);
  const rtcPortBase = Number(args["rtc-port-base"]);
  // 2 publishers + up to N subscribers in one room: above the default cap of 100 participants.
  const system = await startSystem({ workerPort, inspectorPort: workerPort + 440, rtcPortBase, workerVars: { MAX_PARTICIPANTS_PER_ROOM: "1000" } });
  const room = `bench-${Date.now()}`;
  const publishers: OurParticipant[] = [];
  return {
    name: "ours (werift media node)",
    pid: system.nodes[0]!.pid!,
    publishers: 2,
    publish: async () => {
      const single = await OurParticipant.join(system.url, room, "publisher", "light");
      publishers.push(single);
      await single.publish();
      const sim = await OurParticipant.join(system.url, room, "simulcast-publisher", "light");
      publishers.push(sim);
      await sim.publish({ simulcast: true });
      return [{ label: "single layer", target: single }, ...simulcastStreams(sim.layers)];
    },
    subscribe: async (mode) => {
      const p = await OurParticipant.join(system.url, room, "sub", mode);
      try {
        await p.subscribed(60_000);
      } catch (err) {
        await p.close();
        throw err;
      }
      return p;
    },
    sockets: () => {
      const socks = udpSockets(system.nodes[0]!.pid!);
      const off = socks.filter((s) => !s.startsWith("127.0.0.1:"));
      if (off.length) throw new Error(`the media node has UDP sockets off 127.0.0.1: ${off.join(", ")}`);
      return `media node's ${socks.length} UDP sockets all on 127.0.0.1 (ss -uanp), RTC ports ${rtcPortBase}–${rtcPortBase + 999}`;
    },
    stop: async () => {
      await Promise.allSettled(publishers.map((p) => p.close()));
      await system.stop();
    },
  };
}

async function mediasoup(): Promise<Sfu> {
  const [lo, hi] = args["mediasoup-ports"]!.split("-").map(Number) as [number, number];
  const sfu = await startMediasoup([lo, hi]);
  const publishers: MediasoupPublisher[] = [];
  return {
    name: `mediasoup ${sfu.version} (C++ worker)`,
    pid: sfu.worker.pid,
    publishers: 2,
    publish: async () => {
      const single = await MediasoupPublisher.join(sfu.router, false);
      publishers.push(single);
      const sim = await MediasoupPublisher.join(sfu.router, true);
      publishers.push(sim);
      return [{ label: "single layer", target: single }, ...simulcastStreams(sim.layers)];
    },
    subscribe: (mode) => MediasoupSubscriber.join(sfu.router, publishers.flatMap((p) => p.producers), mode, new Set(publishers[1]!.producers.filter((p) => p.kind === "video").map((p) => p.id))),
    detail: (subs) => subscriberDetail(subs as MediasoupSubscriber[]),
    sockets: () => {
      const socks = udpSockets(sfu.worker.pid);
      const off = socks.filter((s) => !s.startsWith("127.0.0.1:"));
      if (off.length) throw new Error(`mediasoup has UDP sockets off 127.0.0.1: ${off.join(", ")}`);
      return `mediasoup worker's ${socks.length} UDP sockets all on 127.0.0.1 (ss -uanp), ports ${lo}–${hi}, ICE-lite host candidates 127.0.0.1 only`;
    },
    stop: async () => {
      await Promise.allSettled(publishers.map((p) => p.close()));
      await sfu.stop();
    },
  };
}

async function janus(): Promise<Sfu> {
  const server = await startJanus();
  try {
    const session = await JanusSession.create(server.url);
    const room = 4242;
    await createRoom(session, room);
    const publishers: JanusPublisher[] = [];
    return {
      name: "Janus 1.1.2 VideoRoom",
      pid: server.pid,
      publishers: 2,
      publish: async () => {
        const single = await JanusPublisher.join(session, room);
        publishers.push(single);
        const sim = await JanusPublisher.join(session, room, { simulcast: true });
        publishers.push(sim);
        return [{ label: "single layer", target: single }, ...simulcastStreams(sim.layers)];
      },
      subscribe: (mode) => JanusSubscriber.join(session, room, publishers.map((p) => p.feedId), mode),
      sockets: () => {
        const socks = janusUdpSockets(server.pid);
        const off = socks.filter((s) => !s.startsWith("127.0.0.1:"));
        if (off.length) throw new Error(`Janus has UDP sockets off 127.0.0.1: ${off.join(", ")}`);
        return `Janus's ${socks.length} UDP sockets all on 127.0.0.1 (ss -uanp), candidates in its SDP all 127.0.0.1`;
      },
      stop: async () => {
        await Promise.allSettled(publishers.map((p) => p.close()));
        await session.destroy();
        await server.stop();
      },
    };
  } catch (err) {
    console.error(server.log().slice(-2000));
    await server.stop();
    throw err;
  }
}

const clip = loadClip();
const starts: Record<(typeof SFUS)[number], () => Promise<Sfu>> = { ours, mediasoup, janus };

/** Joins one subscriber, trying up to three times (joins slow down when other work loads the machine). */
async function subscribeWithRetry(sfu: Sfu, mode: ReceiveMode): Promise<Subscriber> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sfu.subscribe(mode);
    } catch (err) {
      if (attempt >= 3) throw new Error(`[${sfu.name}] a subscriber failed to connect three times: ${String(err)}`);
      console.warn(`[${sfu.name}] subscriber join failed (${String(err)}); retrying`);
    }
  }
}

/** The SFU process's RSS and CPU over `idleSeconds` before anyone joins. */
async function measureIdle(pid: number): Promise<Idle> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(idleSeconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  return { rss: rssMiB(pid), cpu: (cpuSeconds(pid) - cpu0) / wall, seconds: wall };
}

/** One measured window at the current N: SFU CPU and RSS, what the subscribers received, generator load. */
async function measureWindow(sfu: Sfu, subs: Subscriber[], rssBase: number, joinSeconds: number): Promise<Row> {
  const n = subs.length;
  for (const s of subs) s.tally.resetWindow();
  const load = new GeneratorLoad();
  const cpu0 = cpuSeconds(sfu.pid);
  const busy0 = [cpuBusySeconds(0), cpuBusySeconds(1)] as const;
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  await sleep(300); // packets in flight
  const wall = (performance.now() - t0) / 1000;
  const cpu = (cpuSeconds(sfu.pid) - cpu0) / wall;
  // Work on the two CPUs that is neither the SFU (pinned to CPU 0) nor this generator (CPU 1).
  const genUsed = process.cpuUsage(gen0);
  const otherCpu0 = Math.max(0, (cpuBusySeconds(0) - busy0[0]) / wall - cpu);
  const otherCpu1 = Math.max(0, (cpuBusySeconds(1) - busy0[1]) / wall - (genUsed.user + genUsed.system) / 1e6 / wall);
  const gen = load.read();
  const received = subs.reduce((a, s) => a + s.tally.packets, 0);
  const expected = subs.reduce((a, s) => a + s.tally.expected, 0);
  // Loss from sequence numbers (the SFU numbers each forwarded stream continuously across layer
  // switches), and a stream a subscriber did not receive at all counts as lost in full.
  const missing = subs.reduce((a, s) => a + Math.max(0, sfu.publishers - s.tally.ssrcs.size), 0);
  if (missing) {
    const short = subs.map((s, i) => ({ s, i })).filter(({ s }) => s.tally.ssrcs.size < sfu.publishers).slice(0, 3);
    console.warn(`[${sfu.name}] N=${n}: ${missing} streams not received; e.g. ${short.map(({ s, i }) => `subscriber ${i} (${s.tally.mode}): ${[...s.tally.ssrcs].map(([ssrc, k]) => `SSRC ${ssrc} ${(k / seconds).toFixed(0)} pkt/s`).join(", ") || "nothing"}`).join("; ")}`);
  }
  const seqLoss = Math.max(0, 1 - received / Math.max(1, expected));
  const loss = Math.min(1, seqLoss + missing / (n * sfu.publishers));
  const lat = subs.flatMap((s) => s.tally.latencies ?? []).sort((a, b) => a - b);
  const rss = rssMiB(sfu.pid);
  return {
    n, pps: received / wall, cpu, cpuPerStream: cpu / n, usPerPkt: ((cpu * wall) / Math.max(1, received)) * 1e6,
    p50: percentile(lat, 50), p99: percentile(lat, 99), loss, missingStreams: missing,
    rss, memPerSub: ((rss - rssBase) / n) * 1024, genCpu: gen.cpu, genElu: gen.elu, genLag: gen.lagP99, genBound: generatorBound(gen), joinSeconds,
    otherCpu0, otherCpu1, contended: otherCpu0 > 0.1 || otherCpu1 > 0.1,
  };
}

async function run(key: (typeof SFUS)[number]): Promise<SfuResult> {
  const sfu = await starts[key]();
  const unregister = onInterrupt(() => sfu.stop());
  const pinned = pin(sfu.pid, 0) && pin(process.pid, 1);
  if (!pinned) console.warn("taskset failed: SFU and generator not pinned");
  const pump = new MediaPump(clip, Number(args.pacing));
  const subs: Subscriber[] = [];
  const rows: Row[] = [];
  let sockets = "";
  let idle: Idle | undefined;
  const sentRates: string[] = [];
  try {
    console.log(`[${sfu.name}] idle for ${idleSeconds} s before anyone joins`);
    idle = await measureIdle(sfu.pid);
    console.log(`[${sfu.name}] idle: RSS ${idle.rss.toFixed(0)} MiB, CPU ${(idle.cpu * 100).toFixed(2)} % of a core`);
    const streams = await sfu.publish();
    pin(sfu.pid, 0); // threads started since
    const sent = streams.map((st) => ({ label: st.label, counter: pump.add(st.target, { clip: st.clip }) }));
    await sleep(2000);
    const sent0 = sent.map((x) => x.counter.videoSent);
    const sentT0 = performance.now();
    const rssBase = rssMiB(sfu.pid);
    for (const n of steps) {
      const joinStart = performance.now();
      // `--full` decrypting subscribers per step, spread evenly over the ones this step adds, so
      // latency samples early, middle and late positions of the SFU's fan-out loop.
      const prev = subs.length;
      const fullAt = new Set(Array.from({ length: Math.min(fullCount, n - prev) }, (_, k) => prev + Math.floor(((k + 0.5) * (n - prev)) / fullCount)));
      while (subs.length < n) subs.push(await subscribeWithRetry(sfu, fullAt.has(subs.length) ? "full" : "light"));
      const joinSeconds = (performance.now() - joinStart) / 1000;
      sockets = sfu.sockets();
      pin(sfu.pid, 0);
      await sleep(2000); // warm-up: keyframe requests, queues settle, bandwidth estimates ramp
      let row = await measureWindow(sfu, subs, rssBase, joinSeconds);
      if (!passes(row) && !row.genBound) {
        // Other work shares this machine: a failing window gets one more try before it ends the run.
        const first = row;
        row = await measureWindow(sfu, subs, rssBase, joinSeconds);
        row.retriedAfter = `${first.loss >= 0.01 ? `loss ${(first.loss * 100).toFixed(2)} %` : `p99 ${first.p99.toFixed(0)} ms`}${first.genBound ? ", generator-bound" : ""}`;
      }
      rows.push(row);
      if (sfu.detail) console.log(`[${sfu.name}] N=${n}: ${await sfu.detail(subs)}`);
      console.log(
        `[${sfu.name}] N=${n}: ${row.pps.toFixed(0)} pkt/s, SFU CPU ${(row.cpu * 100).toFixed(1)} % (${(row.cpuPerStream * 100).toFixed(3)} %/subscriber, ${row.usPerPkt.toFixed(1)} µs/pkt), ` +
          `p50 ${row.p50.toFixed(2)} ms p99 ${row.p99.toFixed(2)} ms, loss ${(row.loss * 100).toFixed(2)} %${row.missingStreams ? ` (${row.missingStreams} streams not received)` : ""}, RSS ${row.rss.toFixed(0)} MiB (${row.memPerSub.toFixed(0)} KiB/sub), ` +
          `generator CPU ${(row.genCpu * 100).toFixed(0)} % ELU ${(row.genElu * 100).toFixed(0)} % loop delay p99 ${row.genLag.toFixed(1)} ms${row.genBound ? " GENERATOR-BOUND" : ""}, ` +
          `other work on CPU 0 ${(row.otherCpu0 * 100).toFixed(0)} % CPU 1 ${(row.otherCpu1 * 100).toFixed(0)} %${row.contended ? " CONTENDED" : ""}, joins took ${joinSeconds.toFixed(1)} s` +
          (row.retriedAfter ? ` (second window; the first failed: ${row.retriedAfter})` : ""),
      );
      // Every step asked for is measured (the goals are stated at N = 100), each with its verdict;
      // only a breakdown (most of the media lost) ends the SFU's run early.
      if (row.loss >= 0.5) break;
    }
    const wall = (performance.now() - sentT0) / 1000;
    sentRates.push(...sent.map((x, i) => `${x.label} ${((x.counter.videoSent - sent0[i]!) / wall).toFixed(0)} pkt/s`));
  } finally {
    pump.stop();
    await Promise.allSettled(subs.map((s) => s.close()));
    unregister();
    await sfu.stop();
  }
  return { name: sfu.name, key, rows, sockets, idle, sent: sentRates.join(", ") };
}

const results: SfuResult[] = [];
for (const key of SFUS) if (only.includes(key)) results.push(await run(key));

const command = `npm run bench -- --steps ${args.steps} --seconds ${seconds} --full ${fullCount} --pacing ${args.pacing} --idle ${idleSeconds} --only ${only.join(",")}`;
const kbps = (clip.reduce((a, f) => a + f.data.length, 0) * 8) / (clip.length / 30) / 1000;
const report = `## Fan-out side by side: our media node vs mediasoup ${MEDIASOUP_VERSION} vs Janus VideoRoom (${new Date().toISOString().slice(0, 10)})

Command: \`${command}\`
Machine: ${machineLine()}; SFU pinned to CPU 0, load generator to CPU 1. Other work shared the machine, so figures are noisy.
Load: 2 publishers in one room. One sends a real VP8 clip (640×480, 30 fps, ${kbps.toFixed(0)} kbps, keyframe every 2 s, ≤ 1100-byte payloads) looped as a single layer;
the other sends simulcast, the same picture in three layers (${SIMULCAST_LAYERS.map((l) => `${l.rid} ${l.width}×${l.height} ${l.kbps} kbps`).join(", ")}), one SSRC and rid each, as a browser does.
Each SFU picks the simulcast layer it forwards by its own rules (ours and mediasoup from their bandwidth estimates; Janus by its default substream, and in a test run it forwarded the q layer: it seems to take the first rid as the highest), so compare per forwarded packet. N subscribers receive every publisher;
they negotiate like Chrome: VP8 with nack, pli and transport-cc feedback, the mid and transport-wide-cc header extensions, so the SFU
numbers what it sends and runs its bandwidth estimation (and picks the simulcast layer) from their transport-wide feedback (one message
per transport every 100 ms, arrival times taken as datagrams come off the socket; bench/lib/twcc.ts, since werift 0.24's own is malformed).
${fullCount} subscribers per step decrypt and measure latency (spread over the fan-out order, so ${fullCount} × steps in all), the rest count RTP headers without decrypting.
${Number(args.pacing) > 0 ? `Each stream is paced at ${args.pacing} kbps (2.5 × the bitrate, as libwebrtc does), so a keyframe's ~30 packets leave over ~70 ms.` : "No pacer: a keyframe leaves as a burst of ~30 packets, so its last copies to late subscribers set the p99."}
"Forwarded pkt/s" and "µs CPU per forwarded packet" count the video packets of both publishers that the subscribers received; CPU per stream is per subscriber.
Loss is from RTP sequence numbers per received stream (a stream not received at all counts as lost). Idle: the SFU process before any participant joins
(ours: the media node right after it registered), RSS and CPU over ${idleSeconds} s.
Latency is pacer send → receive of every packet of the full subscribers (same clock). ${seconds} s windows after 2 s warm-up;
a step with loss ≥ 1 % or p99 ≥ 50 ms is measured again in a second window (other work shares the machine; the table says when the
first window failed) and marked failed if that fails too; stepping goes on (only a breakdown, ≥ 50 % loss, ends an SFU's run). Rows where other
processes used > 10 % of CPU 0 or CPU 1 during the window (/proc/stat busy time minus the SFU's or the generator's own) are marked contended. Everything on 127.0.0.1.

${results.map((r) => `### ${r.name}\n\n${r.sockets}. Idle: ${r.idle ? `RSS ${r.idle.rss.toFixed(0)} MiB, CPU ${(r.idle.cpu * 100).toFixed(2)} % of a core` : "not measured"}. Sent: ${r.sent}.\n\n${table(r.rows)}`).join("\n\n")}

${summarize(results)}
`;
console.log(`\n${report}`);
// A section of its own: the earlier Janus-only comparison (bench:janus) stays in RESULTS.md for reference.
if (args.out) writeSection(args.out, "bench", report);
process.exit(0);
