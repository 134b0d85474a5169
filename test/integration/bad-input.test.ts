import { createSocket } from "node:dgram";
import { RtpHeader, RtpPacket } from "werift";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTROL_PROTOCOL_VERSION, SIGNATURE_HEADER, signRequest } from "@sfu/shared";
import { startSystem, type RunningSystem } from "../../scripts/system.ts";
import { WeriftPeer } from "../support/werift-peer.ts";

const CONTROL = "http://127.0.0.1:17300";
let system: RunningSystem;
const peers: WeriftPeer[] = [];

beforeAll(async () => {
  system = await startSystem({ workerPort: 18789, inspectorPort: 19231, controlPortBase: 17300, rtcPortBase: 45000 });
});

afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  await system?.stop();
});

async function control(method: string, path: string, body: string, opts: { secret?: string; skewMs?: number; version?: string } = {}) {
  const signature = await signRequest(opts.secret ?? system.secret, method, path, body, Date.now() + (opts.skewMs ?? 0));
  const res = await fetch(`${CONTROL}${path}`, {
    method,
    body: body || undefined,
    headers: { [SIGNATURE_HEADER]: signature, "x-sfu-control-version": opts.version ?? String(CONTROL_PROTOCOL_VERSION) },
  });
  return { status: res.status, body: (await res.json()) as { error?: string; message?: string } };
}

const nodeAlive = async () => (await fetch(`${CONTROL}/healthz`)).ok;

describe("media node control API refuses bad calls with typed errors", () => {
  const path = "/rooms/r1/participants/p1/publish";
  const body = JSON.stringify({ sdp: "v=0" });
  it.each([
    ["unsigned", async () => {
      const res = await fetch(`${CONTROL}${path}`, { method: "POST", body });
      return { status: res.status, body: (await res.json()) as { error?: string } };
    }, 401, "unauthorized"],
    ["signed with the wrong secret", () => control("POST", path, body, { secret: "not-the-fleet-secret-at-all" }), 401, "unauthorized"],
    ["replayed after the window", () => control("POST", path, body, { skewMs: -60_000 }), 401, "unauthorized"],
    ["another protocol version", () => control("POST", path, body, { version: "99" }), 400, "unsupported-version"],
    ["body not JSON", () => control("POST", path, "{nope"), 400, "bad-request"],
    ["body of the wrong shape", () => control("POST", path, JSON.stringify({ sdp: 42 })), 400, "bad-request"],
    ["garbage SDP", () => control("POST", path, JSON.stringify({ sdp: "this is not sdp at all" })), 422, "negotiation-failed"],
    ["answer with no offer outstanding", () => control("POST", "/rooms/r1/participants/p2/subscriber/answer", JSON.stringify({ sdp: "v=0" })), 422, "negotiation-failed"],
    ["unknown route", () => control("POST", "/rooms/r1/nope", "{}"), 404, "not-found"],
    ["oversized body", () => control("POST", path, JSON.stringify({ sdp: "x".repeat(200_000) })), 413, "payload-too-large"],
  ] as const)("%s", async (_name, call, status, code) => {
    const res = await call();
    expect(res.status).toBe(status);
    expect(res.body.error).toBe(code);
    expect(await nodeAlive()).toBe(true);
    // Nothing is left behind for a participant the bad call would have created.
    expect(((await (await fetch(`${CONTROL}/healthz`)).json()) as { rooms: number }).rooms).toBe(0);
  });
});

describe("replayed control calls", () => {
  it("a captured, correctly signed call is refused when sent again", async () => {
    const path = "/rooms/r1/participants/p9/subscriber/offer";
    const signature = await signRequest(system.secret, "POST", path, "{}", Date.now());
    const send = () =>
      fetch(`${CONTROL}${path}`, { method: "POST", body: "{}", headers: { [SIGNATURE_HEADER]: signature, "x-sfu-control-version": String(CONTROL_PROTOCOL_VERSION) } });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({ error: "unauthorized", message: "replayed request" });
  });
});

describe("garbage on the media ports", () => {
  it("is dropped without disturbing a live call", async () => {
    const room = `garbage-${Date.now()}`;
    const bob = await WeriftPeer.join(system.url, room, "Bob");
    const alice = await WeriftPeer.join(system.url, room, "Alice");
    peers.push(bob, alice);
    await alice.publish();
    await bob.subscriberConnected();

    const send = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        alice.video.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: i * 3000, ssrc: 1 }), Buffer.from([0x10, i & 0xff, 1, 2, 3])));
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 500));
    };
    const received = () => bob.received.filter((r) => r.kind === "video").length;
    await send(0, 100);
    expect(received()).toBeGreaterThanOrEqual(98);

    // The node's media ports, from the candidates in the SDP it gave each peer.
    const ports = new Set<number>();
    for (const sdp of [alice.publisherPc.remoteDescription!.sdp, bob.subscriberPc.remoteDescription!.sdp]) {
      for (const m of sdp.matchAll(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/g)) ports.add(Number(m[1]));
    }
    expect(ports.size).toBeGreaterThan(0);
    const sock = createSocket("udp4");
    const shapes = [
      () => Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, ...Array(40).fill(7)]), // RTP-looking, not SRTP
      () => Buffer.from([0x80, 0xc8, 0, 6, 0, 0, 0, 1, ...Array(20).fill(0)]), // RTCP-looking
      () => Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, ...Array(12).fill(1)]), // STUN header, bad body
      () => Buffer.from([0x16, 0xfe, 0xfd, ...Array(30).fill(9)]), // DTLS-looking
      () => Buffer.alloc(0),
      () => Buffer.from(Array.from({ length: 1200 }, () => Math.floor(Math.random() * 256))),
    ];
    // Several rounds: before strangers' datagrams were filtered, about one round in three stopped forwarding.
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 600; i++) {
        for (const port of ports) sock.send(shapes[i % shapes.length]!(), port, "127.0.0.1");
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      const mark = received();
      await send(1000 * round, 100);
      expect(await nodeAlive()).toBe(true);
      expect(received() - mark, `round ${round}`).toBeGreaterThanOrEqual(98);
    }
    sock.close();
  });
});
