/**
 * Hostile signaling, replayed against the real worker (workerd) with a fake media node: floods of
 * messages and bad frames, joins beyond the participant cap, one identity joining five times, and
 * an oversized HTTP body. Each asserts what the room did, never how fast.
 */
import { env, reset, SELF } from "cloudflare:test";
import { CloseCode, MAX_BAD_FRAMES, SIGNAL_BURST, SIGNAL_RATE_PER_S, type ServerMessage } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_REQUEST_BODY_BYTES } from "../../worker/src/request-body.ts";
import { BASE, closeOpenedSockets, eventually, openRoomSocket, registerNode, roomStub, roomToken, roster, type FakeNode, type RoomSocket } from "./helpers.ts";

const NODE_ID = "fake-node";
/** A budget for the floods on a loaded machine (vitest's default is 5 s); nothing asserts a duration. */
const FLOOD_BUDGET_MS = 30_000;
let node: FakeNode;

beforeEach(async () => {
  await reset();
  node = await registerNode(NODE_ID);
});

afterEach(closeOpenedSockets);

/** Who a socket believes is in the room, from its `joined` and the joins and leaves that followed. */
function rosterSeenBy(s: RoomSocket): Set<string> {
  const seen = new Set<string>();
  for (const m of s.received) {
    if (m.type === "joined") for (const p of m.participants) seen.add(p.id);
    if (m.type === "participant-joined") seen.add(m.participant.id);
    if (m.type === "participant-left") seen.delete(m.participantId);
  }
  return seen;
}

const errors = (s: RoomSocket, code: string) => s.received.filter((m): m is Extract<ServerMessage, { type: "error" }> => m.type === "error" && m.code === code);

describe("a flood of 2,000 messages", () => {
  it("is limited to the socket's rate, then the flooder is closed with policyViolation; a bystander still joins", async () => {
    const flooder = await openRoomSocket("flood");
    const { participantId: flooderId } = await flooder.join("Flooder");
    const prefs = JSON.stringify({ v: 1, type: "subscription-prefs", tracks: [{ trackId: "t", width: 640, height: 360 }] });
    const started = Date.now();
    for (let i = 0; i < 2000; i++) {
      try {
        flooder.ws.send(prefs);
      } catch {
        break; // the room closed it
      }
    }
    const bystander = await openRoomSocket("flood");
    const joined = await bystander.join("Bystander");
    expect(joined.participantId).not.toBe(flooderId);

    expect(await flooder.closed).toEqual({ code: CloseCode.policyViolation, reason: "too many bad messages" });
    const elapsedS = (Date.now() - started) / 1000;
    const limited = errors(flooder, "rate-limited");
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.length).toBeLessThanOrEqual(MAX_BAD_FRAMES);
    // Only what the bucket held (less the join's token), plus its refill while the flood lasted, reached the node.
    expect(node.sent("preferences").length).toBeLessThanOrEqual(SIGNAL_BURST + Math.ceil(elapsedS * SIGNAL_RATE_PER_S));
    expect(node.sent("preferences").length).toBeGreaterThan(0);
    // The flooder was removed: the bystander sees a room of one.
    await eventually(async () => expect(await roster("flood")).toEqual(["Bystander"]));
    await eventually(async () => expect([...rosterSeenBy(bystander)]).toEqual([joined.participantId]));
  }, FLOOD_BUDGET_MS);
});

describe("10,000 bad frames", () => {
  it("get one error each up to the limit, then the socket is closed with policyViolation and the room still works", async () => {
    const abuser = await openRoomSocket("garbage");
    await abuser.join("Abuser");
    for (let i = 0; i < 10_000; i++) {
      try {
        abuser.ws.send(i % 2 ? "{not json" : new Uint8Array([i & 255]));
      } catch {
        break;
      }
    }
    expect((await abuser.closed).code).toBe(CloseCode.policyViolation);
    expect(errors(abuser, "bad-message")).toHaveLength(MAX_BAD_FRAMES);

    const next = await openRoomSocket("garbage");
    const joined = await next.join("Next");
    expect(joined.participants.map((p) => p.name)).toEqual(["Next"]);
    expect(await roster("garbage")).toEqual(["Next"]);
  }, FLOOD_BUDGET_MS);

  it("fewer than the limit leave the socket open and usable", async () => {
    const s = await openRoomSocket("some-garbage");
    for (let i = 0; i < MAX_BAD_FRAMES - 1; i++) s.send("{not json");
    const joined = await s.join("Careless");
    expect(errors(s, "bad-message")).toHaveLength(MAX_BAD_FRAMES - 1);
    expect(joined.participants.map((p) => p.name)).toEqual(["Careless"]);
  });
});

describe("joins beyond the participant cap", () => {
  it("get room-full and change nothing; a place that frees up can be taken", async () => {
    const cap = Number(env.MAX_PARTICIPANTS_PER_ROOM);
    expect(cap).toBeGreaterThan(1);
    const inside: RoomSocket[] = [];
    for (let i = 0; i < cap; i++) {
      const s = await openRoomSocket("capped");
      await s.join(`P${i}`);
      inside.push(s);
    }
    const late = await openRoomSocket("capped");
    late.send({ v: 1, type: "join", name: "Late" });
    expect(await late.error("room-full")).toMatchObject({ inReplyTo: "join" });
    const another = await openRoomSocket("capped");
    another.send({ v: 1, type: "join", name: "Another" });
    await another.error("room-full");
    expect(await roster("capped")).toHaveLength(cap);
    expect((await roster("capped")).includes("Late")).toBe(false);
    expect(inside[0]!.received.some((m) => m.type === "participant-joined" && m.participant.name === "Late")).toBe(false);

    inside[0]!.send({ v: 1, type: "leave" });
    await inside[0]!.closed;
    expect((await late.join("Late")).participants).toHaveLength(cap);
  });
});

describe("five joins with one identity", () => {
  it("leave one live participant: the others are closed with identityReplaced, freed on the node, and seen to leave", async () => {
    const bystander = await openRoomSocket("same-id");
    const { participantId: bystanderId } = await bystander.join("Bystander");
    const token = await roomToken("same-id", { sub: "alice" });
    const sockets = await Promise.all(Array.from({ length: 5 }, () => openRoomSocket("same-id", token)));
    const closes = new Map<RoomSocket, number>();
    for (const s of sockets) void s.closed.then((c) => closes.set(s, c.code));
    for (const s of sockets) s.send({ v: 1, type: "join", name: "Alice" });

    await eventually(() => Promise.resolve(expect(closes.size).toBe(4)));
    expect([...closes.values()]).toEqual(Array(4).fill(CloseCode.identityReplaced));
    const live = sockets.find((s) => !closes.has(s))!;
    const { participantId: liveId } = await live.next("joined");

    const summary = await roomStub("same-id").summary();
    expect(summary.participants.filter((p) => p.identity === "alice").map((p) => p.id)).toEqual([liveId]);
    const replacedIds = [...closes.keys()].map((s) => s.received.find((m) => m.type === "joined")?.participantId);
    expect(replacedIds.every((id) => id !== undefined && id !== liveId)).toBe(true);
    await eventually(async () => expect(node.sent("remove").map((r) => (r.body as { participantId: string }).participantId).sort()).toEqual([...replacedIds].sort()));
    await eventually(async () => expect([...rosterSeenBy(bystander)].sort()).toEqual([bystanderId, liveId].sort()));
  });

  it("a replaced socket's resume is refused: the replacement stands", async () => {
    const token = await roomToken("same-id-2", { sub: "bob" });
    const first = await openRoomSocket("same-id-2", token);
    const { participantId, resumeSecret } = await first.join("Bob");
    const second = await openRoomSocket("same-id-2", token);
    const { participantId: secondId } = await second.join("Bob");
    expect((await first.closed).code).toBe(CloseCode.identityReplaced);
    const again = await openRoomSocket("same-id-2", token);
    again.send({ v: 1, type: "resume", participantId, secret: resumeSecret });
    await again.error("resume-failed");
    expect((await roomStub("same-id-2").summary()).participants.map((p) => p.id)).toEqual([secondId]);
  });
});

describe("an oversized HTTP body", () => {
  const drain = (body: BodyInit, headers: Record<string, string> = {}) =>
    SELF.fetch(`${BASE}/admin/nodes/${NODE_ID}/drain`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

  it("is refused with 413 by its Content-Length, before authentication or reading it", async () => {
    const huge = JSON.stringify({ draining: true, pad: "x".repeat(1024 * 1024) });
    const res = await drain(huge);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "payload-too-large" });
  });

  it("without a Content-Length (streamed) is refused with 413 once it passes the limit", async () => {
    let sent = 0;
    const chunk = new TextEncoder().encode("x".repeat(4096));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Far more than the limit; the worker stops reading past it.
        if (sent >= 64 * MAX_REQUEST_BODY_BYTES) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await drain(stream as unknown as BodyInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "payload-too-large" });
    expect(sent).toBeLessThan(64 * MAX_REQUEST_BODY_BYTES);
  });

  it("a body within the limit still reaches the admin API (which then asks for its token)", async () => {
    const res = await drain(JSON.stringify({ draining: true }));
    expect(res.status).toBe(401);
  });
});
