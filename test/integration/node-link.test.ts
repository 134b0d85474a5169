import type { ChildProcess } from "node:child_process";
import { deriveNodeKey, MAX_NODE_MESSAGE_BYTES, NODE_PROTOCOL_VERSION, type HeldRoom, type NodeToEdge } from "@sfu/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputTail, startMediaNode, terminate } from "../../scripts/system.ts";
import { FakeEdge, type EdgeConn } from "../support/fake-edge.ts";
import { freeTcpPorts, freeUdpRange } from "../support/ports.ts";
import { nodeHealth, nodeHealthOrNothing, nodeMetrics } from "../support/node-health.ts";
import { reconcileHeldRoom, type Expectation } from "../../worker/src/reconcile.ts";

/** The real media node entrypoint against a fake edge: the node's side of the dial-out protocol. */
const SECRET = "node-link-test-fleet-secret";
const RTC_PORTS = 20;
let edge: FakeEdge;
const started: ChildProcess[] = [];
/** Per started node, its exit code once its output has been read to the end ("close", not "exit"). */
const closed = new WeakMap<ChildProcess, Promise<number | null>>();
/** Per started node, all it logged so far (outputTail keeps only the last lines). */
const logs = new WeakMap<ChildProcess, string[]>();
const logOf = (child: ChildProcess) => logs.get(child)!.join("");
/** What the node logged, one JSON object a line, in order. */
function logLines(child: ChildProcess): Array<{ msg: string } & Record<string, unknown>> {
  return logOf(child)
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string } & Record<string, unknown>);
}
/** The redial delays the node chose (its decision, not the time that passed), in order. */
const redialDelays = (child: ChildProcess) => logLines(child).filter((l) => l.msg.endsWith("; redialing") && typeof l.inMs === "number").map((l) => l.inMs as number);

/** A node on a health port and RTC ports found free on 127.0.0.1; `health` is its health port. */
async function node(nodeId: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; health: number }> {
  const health = await freeTcpPorts();
  const rtcMin = await freeUdpRange(RTC_PORTS);
  const child = startMediaNode(
    {
      WORKER_URL: edge.url,
      NODE_KEY: await deriveNodeKey(SECRET, nodeId),
      NODE_ID: nodeId,
      REGION: "test-region",
      CAPACITY: "77",
      HEALTH_PORT: String(health),
      RTC_MIN_PORT: String(rtcMin),
      RTC_MAX_PORT: String(rtcMin + RTC_PORTS - 1),
      HEARTBEAT_MS: "1000",
      DRAIN_TIMEOUT_MS: "30000",
      ...env,
    },
    nodeId,
    !!process.env.VERBOSE,
  );
  started.push(child);
  const log: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  logs.set(child, log);
  closed.set(child, new Promise((resolve) => child.once("close", (code) => resolve(code))));
  return { child, health };
}

/**
 * The node's exit code, once its output has been read to the end: at "exit" its last log lines
 * may still be in the pipe.
 */
function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms\n${outputTail(child)}`)), timeoutMs);
  });
  return Promise.race([closed.get(child)!, late]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const target = (room: string, participantId: string) => ({ room, participantId });
/** A participant the node creates on a subscriber-offer (nothing to offer yet: `unchanged`). */
async function addParticipant(conn: EdgeConn, room: string, participantId: string) {
  expect(await conn.request("subscriber-offer", target(room, participantId))).toMatchObject({ type: "result", body: { status: "unchanged" } });
}

beforeAll(async () => {
  edge = await FakeEdge.start(SECRET, await freeTcpPorts());
});

afterAll(async () => {
  await Promise.all(started.map((c) => terminate(c, "SIGKILL")));
  await edge?.close();
  for (const conn of edge?.conns ?? []) expect(conn.invalid, `node ${conn.proof.nodeId} broke the protocol`).toEqual([]);
});

describe("a media node dialing the edge", () => {
  let health: number;
  let child: ChildProcess;
  let conn: EdgeConn;

  beforeAll(async () => {
    ({ child, health } = await node("link-node"));
    conn = await edge.conn("link-node");
    for (let i = 0; !(await nodeHealthOrNothing(health))?.connected; i++) {
      if (i > 300) throw new Error(`node never reported itself connected\n${outputTail(child)}`);
      await sleep(50);
    }
  });

  it("presents a valid, fresh proof and says hello with its version, region, capacity and no rooms", async () => {
    expect(conn.proof.nodeId).toBe("link-node");
    expect(conn.proof.instanceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(Date.now() - conn.proof.issuedAt)).toBeLessThan(15_000);
    expect(await conn.hello()).toMatchObject({ type: "hello", version: NODE_PROTOCOL_VERSION, region: "test-region", capacity: 77, rooms: [] });
    expect(edge.refusals).toEqual([]);
    const h = await nodeHealth(health);
    expect(h).toMatchObject({ status: 200, ok: true, connected: true, draining: false, rooms: 0, pid: child.pid, instanceId: conn.proof.instanceId });
  });

  it("keeps heartbeating on the same socket, acknowledged, and stays connected", async () => {
    // The interval and the silence rule are unit-tested on a fake clock (test/unit/edge-link.test.ts).
    const before = conn.events("heartbeat").length;
    await expect.poll(() => conn.events("heartbeat").length, { timeout: 15_000 }).toBeGreaterThanOrEqual(before + 5);
    expect(conn.events("heartbeat").at(-1)).toMatchObject({ event: { type: "heartbeat", load: { rooms: 0, participants: 0, tracks: 0 } } });
    expect(conn.closed).toBe(false);
    expect(edge.connsOf("link-node")).toHaveLength(1);
  });

  it("serves Prometheus metrics on the health port", async () => {
    const text = await nodeMetrics(health);
    for (const name of ["sfu_node_connected 1", "sfu_node_rooms 0", "sfu_node_participants 0", "sfu_node_tracks 0", "sfu_node_reconnects_total 0", "sfu_node_draining 0"]) {
      expect(text).toMatch(new RegExp(`^${name}$`, "m"));
    }
    expect(text).toMatch(/^sfu_node_cpu [0-9.e-]+$/m);
  });

  describe("refuses bad requests with typed errors and leaves nothing behind", () => {
    const p = target("r1", "p1");
    it.each([
      ["an unknown action", (c: EdgeConn) => c.request("teleport", p), "bad-request"],
      ["a body of the wrong shape", (c: EdgeConn) => c.request("publish", { ...p, sdp: 42 }), "bad-request"],
      ["a body that is not an object", (c: EdgeConn) => c.request("remove", "r1/p1"), "bad-request"],
      ["a bad room name", (c: EdgeConn) => c.request("subscriber-offer", target("no spaces", "p1")), "bad-request"],
      ["garbage SDP", (c: EdgeConn) => c.request("publish", { ...p, sdp: "this is not sdp at all" }), "negotiation-failed"],
      ["a subscriber answer with no offer out", (c: EdgeConn) => c.request("subscriber-answer", { ...target("r1", "p2"), sdp: "v=0" }), "negotiation-failed"],
      ["preferences for an unknown participant", (c: EdgeConn) => c.request("preferences", { ...p, tracks: [{ trackId: "t1", width: 640, height: 360 }] }), "not-found"],
      ["impair with impairment off", (c: EdgeConn) => c.request("impair", { ...p, kbps: 300 }), "not-found"],
      ["an oversized message", (c: EdgeConn) => {
        const id = c.nextRequestId();
        c.sendRaw(JSON.stringify({ type: "request", id, action: "publish", body: { ...p, sdp: "x".repeat(MAX_NODE_MESSAGE_BYTES + 10) } }));
        return c.reply(id);
      }, "payload-too-large"],
      ["a request without an action", (c: EdgeConn) => {
        const id = c.nextRequestId();
        c.sendRaw(JSON.stringify({ type: "request", id, body: p }));
        return c.reply(id);
      }, "bad-request"],
    ] as const)("%s", async (_name, call, code) => {
      const reply = await call(conn);
      expect(reply).toMatchObject({ type: "error", code });
      expect(reply.type === "error" && reply.message.length).toBeGreaterThan(0);
      expect(await nodeHealth(health)).toMatchObject({ status: 200, connected: true, rooms: 0, participants: 0 });
      expect(child.exitCode).toBeNull();
    });

    it("non-JSON text, binary and an unknown message type: a logged warning, no reply, same socket", async () => {
      const replies = () => conn.messages.filter((m) => m.type === "error" || m.type === "result").length;
      const warnings = () => logOf(child).split("bad message from the edge").length - 1;
      const [repliesBefore, warningsBefore] = [replies(), warnings()];
      conn.sendRaw("{this is not json");
      conn.ws.send(Buffer.from([1, 2, 3]));
      conn.send({ type: "surprise" });
      // The node handles one socket's messages in order: by the reply to a request sent next, it has
      // handled the three (a reply to them would have come first).
      expect(await conn.request("preferences", { ...p, tracks: [{ trackId: "t1", width: 640, height: 360 }] })).toMatchObject({ type: "error", code: "not-found" });
      expect(replies()).toBe(repliesBefore + 1);
      // The log comes through a pipe, not the socket: it may arrive after the reply.
      await expect.poll(warnings, { timeout: 3000 }).toBe(warningsBefore + 3);
      expect(conn.closed).toBe(false);
      expect(await nodeHealth(health)).toMatchObject({ status: 200, connected: true, rooms: 0 });
    });
  });

  it("a valid subscriber-offer for a new participant creates it; remove frees it", async () => {
    await addParticipant(conn, "room-a", "alice");
    expect(await nodeHealth(health)).toMatchObject({ rooms: 1, participants: 1 });
    // Tile sizes for a participant that exists are accepted.
    expect(await conn.request("preferences", { ...target("room-a", "alice"), tracks: [{ trackId: "t1", width: 320, height: 180 }] })).toMatchObject({ type: "result", body: {} });
    expect(await conn.request("mute", { ...target("room-a", "alice"), kind: "audio", muted: true })).toMatchObject({ type: "result", body: {} });
    expect(await conn.request("remove", target("room-a", "alice"))).toMatchObject({ type: "result", body: { removedTracks: [] } });
    expect(await nodeHealth(health)).toMatchObject({ rooms: 0, participants: 0 });
    await addParticipant(conn, "room-a", "alice");
    await addParticipant(conn, "room-b", "bob");
    expect(await nodeHealth(health)).toMatchObject({ rooms: 2, participants: 2 });
  });

  it("redials after an abrupt drop, with a new proof from the same instance, keeps its media meanwhile and frees the rooms the welcome does not keep", async () => {
    const first = conn.proof;
    edge.welcome = (hello) => ({ keepRooms: hello.rooms.filter((r) => r === "room-b"), heartbeatMs: 200 });
    conn.ws.terminate();
    const again = await edge.conn("link-node", 1);
    expect(again.proof.instanceId).toBe(first.instanceId);
    expect(again.proof.issuedAt).toBeGreaterThan(first.issuedAt);
    // A connection that lasted: the backoff started over, at its first step.
    await expect.poll(() => redialDelays(child), { timeout: 15_000 }).toHaveLength(1);
    expect(redialDelays(child)[0]).toBeLessThanOrEqual(100);
    expect((await again.hello()).rooms.sort()).toEqual(["room-a", "room-b"]);
    await expect.poll(async () => (await nodeHealth(health)).rooms, { timeout: 15_000 }).toBe(1);
    expect(await nodeHealth(health)).toMatchObject({ status: 200, connected: true, participants: 1 });
    const metrics = await nodeMetrics(health);
    expect(metrics).toMatch(/^sfu_node_reconnects_total 1$/m);

    edge.welcome = () => ({ keepRooms: [], heartbeatMs: 200 });
    again.ws.terminate();
    const third = await edge.conn("link-node", 2);
    expect((await third.hello()).rooms).toEqual(["room-b"]);
    await expect.poll(async () => (await nodeHealth(health)).rooms, { timeout: 15_000 }).toBe(0);
    conn = third;
  });

  it("calls a silent edge dead, reports itself disconnected, and redials", async () => {
    const logged = logLines(child).length;
    const sinceSilence = () => logLines(child).slice(logged).map((l) => l.msg);
    conn.silent = true;
    const next = await edge.conn("link-node", 3);
    expect(next.proof.instanceId).toBe(conn.proof.instanceId);
    await expect.poll(() => conn.closed, { timeout: 15_000 }).toBe(true);
    await expect.poll(async () => (await nodeHealth(health)).connected, { timeout: 15_000 }).toBe(true);
    // The log comes through a pipe: wait for the welcome's line, then read what led to it.
    await expect.poll(() => sinceSilence().slice(sinceSilence().indexOf("the edge went silent; reconnecting")), { timeout: 15_000 }).toEqual([
      "the edge went silent; reconnecting",
      "lost the edge connection; redialing",
      "connected to the edge",
    ]);
    expect(logLines(child).slice(logged).find((l) => l.msg.startsWith("the edge went silent"))).toMatchObject({ silentMs: 600 });
    expect(await nodeMetrics(health)).toMatch(/^sfu_node_reconnects_total 3$/m);
    conn = next;
  });
});

describe("reconciling a node's inventory", () => {
  type Inventory = Extract<NodeToEdge, { type: "event" }> & { event: { type: "inventory"; rooms: HeldRoom[] } };
  const isInventory = (m: NodeToEdge): m is Inventory => m.type === "event" && m.event.type === "inventory";

  it("the node reports what it holds, and frees the orphans the edge's decision names", async () => {
    const { health: HEALTH_PORT } = await node("inventory-node", { INVENTORY_MS: "500" });
    const conn = await edge.conn("inventory-node");
    await addParticipant(conn, "kept-room", "p1");
    await addParticipant(conn, "kept-room", "p2");
    await addParticipant(conn, "orphan-room", "q1");
    // What the edge has: p1 in kept-room; p2's removal never reached the node, and orphan-room is placed elsewhere.
    const edgeRooms = new Map<string, Expectation>([["kept-room", new Set(["p1"])]]);

    const seen = conn.messages.length;
    const report = await conn.waitFor((m): m is Inventory => isInventory(m) && conn.messages.indexOf(m) >= seen && m.event.rooms.length === 2, 5000);
    expect(new Map(report.event.rooms.map((r) => [r.room, [...r.participants].sort()]))).toEqual(new Map([["kept-room", ["p1", "p2"]], ["orphan-room", ["q1"]]]));

    for (const { room, participants } of report.event.rooms) {
      const verdict = reconcileHeldRoom(participants, edgeRooms.get(room) ?? null);
      if (verdict.type === "close-room") expect(await conn.request("close-room", { room })).toMatchObject({ type: "result", body: { closed: true } });
      if (verdict.type === "remove") {
        for (const participantId of verdict.participantIds) expect(await conn.request("remove", target(room, participantId))).toMatchObject({ type: "result" });
      }
    }
    expect(await nodeHealth(HEALTH_PORT)).toMatchObject({ rooms: 1, participants: 1 });
    const after = conn.messages.length;
    const next = await conn.waitFor((m): m is Inventory => isInventory(m) && conn.messages.indexOf(m) >= after, 5000);
    expect(next.event.rooms).toEqual([{ room: "kept-room", participants: ["p1"] }]);
  });

  it("a node at CAPACITY refuses another participant with over-capacity", async () => {
    const { health } = await node("small-node", { CAPACITY: "1" });
    const conn = await edge.conn("small-node");
    await addParticipant(conn, "room-1", "first");
    expect(await conn.request("subscriber-offer", target("room-2", "second"))).toMatchObject({ type: "error", code: "over-capacity" });
    expect(await nodeHealth(health)).toMatchObject({ rooms: 1, participants: 1 });
  });
});

describe("a node with another node's key", () => {
  it("is refused before any upgrade and keeps redialing with growing delays, without crashing", async () => {
    const { child, health } = await node("forged-node", { NODE_KEY: await deriveNodeKey(SECRET, "link-node") });
    const attempts = () => edge.refusals.filter((r) => r.header?.startsWith("v2,forged-node,"));
    await expect.poll(() => attempts().length, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(6);
    expect(attempts().every((a) => a.reason === "bad-signature")).toBe(true);
    expect(new Set(attempts().map((a) => a.header)).size).toBe(attempts().length); // a fresh proof every time
    // The delays it chose (how long they took is the scheduler's business): from 50-100 ms, growing, capped at 5 s.
    await expect.poll(() => redialDelays(child).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    const delays = redialDelays(child);
    expect(delays[0]).toBeLessThanOrEqual(100);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays.at(4)!).toBeGreaterThanOrEqual(800);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5000);
    expect(edge.connsOf("forged-node")).toHaveLength(0);
    expect(await nodeHealth(health)).toMatchObject({ status: 503, ok: false, connected: false });
    expect(child.exitCode).toBeNull();
    await terminate(child, "SIGKILL");
  });
});

describe("graceful drain on SIGTERM", () => {
  it("with no rooms: sends drain, then exits 0 without waiting for the timeout", async () => {
    const { child } = await node("drain-empty");
    const conn = await edge.conn("drain-empty");
    await conn.waitFor((m) => m.type === "event" && m.event.type === "heartbeat");
    child.kill("SIGTERM");
    expect(await exited(child, 15_000)).toBe(0);
    // It told the edge before it went, and went because nothing was held, not at the timeout (30 s).
    await conn.waitFor((m) => m.type === "event" && m.event.type === "drain", 1000);
    const msgs = logLines(child).map((l) => l.msg);
    expect(msgs.indexOf("drained: no rooms left; exiting")).toBeGreaterThan(msgs.indexOf("draining"));
    expect(msgs).not.toContain("drain timed out; exiting with rooms still held");
  });

  it("holding a room: sends drain, keeps going until the edge removes the participant, then exits 0", async () => {
    const { child, health } = await node("drain-busy");
    const conn = await edge.conn("drain-busy");
    await addParticipant(conn, "busy-room", "carol");
    child.kill("SIGTERM");
    await conn.waitFor((m) => m.type === "event" && m.event.type === "drain", 3000);
    await sleep(1500);
    expect(child.exitCode).toBeNull();
    expect(await nodeHealth(health)).toMatchObject({ status: 200, draining: true, rooms: 1 });
    // Still serving the edge while it drains.
    expect((await conn.request("preferences", { ...target("busy-room", "carol"), tracks: [{ trackId: "t", width: 1, height: 1 }] })).type).toBe("result");
    expect(logOf(child)).not.toContain("drained: no rooms left");
    expect(await conn.request("remove", target("busy-room", "carol"))).toMatchObject({ type: "result" });
    expect(await exited(child, 15_000)).toBe(0);
    expect(logOf(child)).toContain("drained: no rooms left; exiting");
    expect(logOf(child)).not.toContain("drain timed out");
  });

  it("a second SIGTERM exits without waiting for the edge to remove the participant", async () => {
    const { child } = await node("drain-twice");
    const conn = await edge.conn("drain-twice");
    await addParticipant(conn, "twice-room", "dave");
    child.kill("SIGTERM");
    await conn.waitFor((m) => m.type === "event" && m.event.type === "drain", 3000);
    await sleep(300);
    expect(child.exitCode).toBeNull();
    child.kill("SIGTERM");
    // The participant is never removed and the drain timeout is 30 s: only the second signal ends it.
    expect(await exited(child, 15_000)).toBe(1);
    expect(logOf(child)).toContain("second signal: exiting now");
    expect(logOf(child)).not.toContain("drained: no rooms left");
    expect(logOf(child)).not.toContain("drain timed out");
  });

  it("DRAIN_TIMEOUT_MS bounds the wait; a node that redials while draining tells the new socket", async () => {
    edge.welcome = (hello) => ({ keepRooms: hello.rooms, heartbeatMs: 200 });
    // Long enough for the redial below to happen well inside it; the timeout's length is unit-tested.
    const { child } = await node("drain-timeout", { DRAIN_TIMEOUT_MS: "5000" });
    const conn = await edge.conn("drain-timeout");
    await addParticipant(conn, "stuck-room", "erin");
    // The socket drops just as the node is told to stop: it holds a room, so it waits and redials.
    conn.ws.terminate();
    child.kill("SIGTERM");
    const next = await edge.conn("drain-timeout", 1);
    await next.waitFor((m) => m.type === "event" && m.event.type === "drain", 5000);
    expect(await exited(child, 15_000)).toBe(0);
    // Nobody removed erin: the node gave up with the room still held.
    expect(logLines(child).find((l) => l.msg === "drain timed out; exiting with rooms still held")).toMatchObject({ rooms: 1, timeoutMs: 5000 });
    expect(logOf(child)).not.toContain("drained: no rooms left");
  });
});
