import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_NODE_MESSAGE_BYTES, type NodeAction } from "@sfu/shared";
import { answer, runAction, withinMessageCap } from "../../media-node/src/control.ts";
import { ManualScheduler } from "../../media-node/src/manual-scheduler.ts";
import { MediaNode } from "../../media-node/src/media-node.ts";
import { mLineBomb, simulcastOffer } from "../support/hostile-sdp.ts";

let scheduler: ManualScheduler;
let node: MediaNode;
const p = { room: "r1", participantId: "p1" };
const request = (action: string, body: unknown, allowImpairment = false) =>
  answer(node, { type: "request", id: 7, action: action as NodeAction, body }, scheduler.clock, { allowImpairment });

beforeEach(() => {
  scheduler = new ManualScheduler();
  node = new MediaNode({ announcedIp: "127.0.0.1", bindIp: "127.0.0.1", portRange: [49900, 49999] }, scheduler);
});
afterEach(() => node.close());

describe("the node's request dispatcher", () => {
  it.each([
    ["publish with a non-string sdp", "publish", { ...p, sdp: 42 }, "bad-request"],
    ["mute without a kind", "mute", { ...p, muted: true }, "bad-request"],
    ["preferences with no tracks", "preferences", { ...p, tracks: [] }, "bad-request"],
    ["candidate for an unknown PeerConnection role", "candidate", { ...p, target: "sideways", candidate: { candidate: "" } }, "bad-request"],
    ["impair with loss over 100 %", "impair", { ...p, lossPercent: 400 }, "bad-request"],
    ["preferences for an unknown participant", "preferences", { ...p, tracks: [{ trackId: "t", width: 1, height: 1 }] }, "not-found"],
    ["impair while impairment is off", "impair", { ...p, kbps: 300 }, "not-found"],
    ["garbage SDP", "publish", { ...p, sdp: "not sdp" }, "negotiation-failed"],
    ["an answer with no offer out", "subscriber-answer", { ...p, sdp: "v=0" }, "negotiation-failed"],
  ])("refuses %s (%s) and leaves nothing behind", async (_name, action, body, code) => {
    expect(await request(action, body)).toMatchObject({ type: "error", id: 7, code });
    expect(node.rooms.size).toBe(0);
  });

  it("keeps a participant that existed before a failed call", async () => {
    expect(await request("subscriber-offer", p)).toEqual({ type: "result", id: 7, body: { status: "unchanged" } });
    expect(await request("subscriber-answer", { ...p, sdp: "v=0" })).toMatchObject({ type: "error", code: "negotiation-failed" });
    expect(node.rooms.get("r1")?.participants.has("p1")).toBe(true);
  });

  it("serves impair when allowed, and remove frees the room", async () => {
    expect(await request("impair", { ...p, kbps: 300 }, true)).toEqual({ type: "result", id: 7, body: {} });
    expect(node.rooms.size).toBe(1);
    expect(await runAction(node, "remove", p, scheduler.clock.now())).toEqual({ removedTracks: [] });
    expect(node.rooms.size).toBe(0);
  });

  it("refuses a new participant with over-capacity once it holds CAPACITY of them, and takes one again after a removal", async () => {
    node.close();
    node = new MediaNode({ announcedIp: "127.0.0.1", bindIp: "127.0.0.1", portRange: [49900, 49999] }, scheduler, 2);
    expect(await request("subscriber-offer", { room: "r1", participantId: "a" })).toMatchObject({ type: "result" });
    expect(await request("subscriber-offer", { room: "r2", participantId: "b" })).toMatchObject({ type: "result" });
    for (const who of [{ room: "r1", participantId: "c" }, { room: "r3", participantId: "d" }]) {
      expect(await request("subscriber-offer", who)).toMatchObject({ type: "error", code: "over-capacity" });
      expect(await request("publish", { ...who, sdp: "v=0" })).toMatchObject({ type: "error", code: "over-capacity" });
    }
    expect(node.counts()).toMatchObject({ rooms: 2, participants: 2 });
    // Those it holds are still served.
    expect(await request("subscriber-offer", { room: "r1", participantId: "a" })).toMatchObject({ type: "result" });
    await runAction(node, "remove", { room: "r2", participantId: "b" }, scheduler.clock.now());
    expect(await request("subscriber-offer", { room: "r1", participantId: "c" })).toMatchObject({ type: "result" });
  });

  it("close-room frees a whole room and says whether it held it", async () => {
    await request("subscriber-offer", { room: "r1", participantId: "a" });
    await request("subscriber-offer", { room: "r1", participantId: "b" });
    expect(node.held()).toEqual(new Map([["r1", ["a", "b"]]]));
    expect(await request("close-room", { room: "r1" })).toEqual({ type: "result", id: 7, body: { closed: true } });
    expect(node.rooms.size).toBe(0);
    expect(await request("close-room", { room: "r1" })).toEqual({ type: "result", id: 7, body: { closed: false } });
    expect(await request("close-room", { room: "bad name!" })).toMatchObject({ type: "error", code: "bad-request" });
  });

  it("answers anything it did not expect as internal, without throwing", async () => {
    expect(await request("teleport", p)).toEqual({ type: "error", id: 7, code: "internal", message: "internal error" });
  });
});

describe("the node's media limits", () => {
  /** Answers a request while the manual scheduler lets the node's gathering timeout pass. */
  async function settled(reply: Promise<unknown>) {
    let done = false;
    void reply.finally(() => (done = true));
    while (!done) {
      scheduler.advance(100);
      await new Promise((r) => setTimeout(r, 5));
    }
    return reply;
  }

  it.each([
    ["527 m-sections (the m-line bomb)", mLineBomb(527)],
    ["3 audio tracks", mLineBomb(3)],
    ["4 simulcast layers", simulcastOffer(4)],
  ])("a publish offer with %s is refused with too-many-tracks; a new participant leaves nothing behind", async (_name, sdp) => {
    expect(await request("publish", { ...p, sdp })).toMatchObject({ type: "error", code: "too-many-tracks" });
    expect(node.rooms.size).toBe(0);
  });

  it("an existing participant keeps what it had and holds no new tracks", async () => {
    await request("subscriber-offer", p);
    expect(await request("publish", { ...p, sdp: mLineBomb(527) })).toMatchObject({ type: "error", code: "too-many-tracks" });
    expect(node.rooms.get("r1")?.participants.has("p1")).toBe(true);
    expect(node.counts().tracks).toBe(0);
  });

  it("an answer too large for the edge is never sent: the publish is undone", async () => {
    await request("subscriber-offer", p);
    const unlimited = { sections: 1000, tracks: { audio: 1000, video: 1000 }, rids: 3 };
    const reply = answer(node, { type: "request", id: 8, action: "publish", body: { ...p, sdp: mLineBomb(527) } }, scheduler.clock, { mediaLimits: unlimited });
    expect(await settled(reply)).toMatchObject({ type: "error", id: 8, code: "payload-too-large" });
    expect(node.counts().tracks).toBe(0);
    expect(node.rooms.get("r1")?.participants.get("p1")?.publisher).toBeUndefined();
  });

  it("no answer is sent past the node socket's message cap: a typed error goes in its place", () => {
    const small = { type: "result" as const, id: 3, body: { sdp: "v=0" } };
    expect(withinMessageCap(small, "publish")).toBe(small);
    const huge = { type: "result" as const, id: 4, body: { sdp: "x".repeat(MAX_NODE_MESSAGE_BYTES) } };
    expect(withinMessageCap(huge, "subscriber-offer")).toEqual({ type: "error", id: 4, code: "payload-too-large", message: `the answer to subscriber-offer would exceed ${MAX_NODE_MESSAGE_BYTES} bytes` });
  });

  it("a PeerConnection takes 50 distinct remote candidates; repeats are ignored and more refused with too-many-candidates", async () => {
    await request("subscriber-offer", p);
    const candidate = (port: number) => ({ ...p, target: "subscriber", candidate: { candidate: `candidate:1 1 udp 2122260223 127.0.0.1 ${port} typ host`, sdpMid: "0", sdpMLineIndex: 0 } });
    const replies = [];
    for (let i = 0; i < 3000; i++) replies.push(await request("candidate", candidate(1 + (i % 60))));
    const codes = replies.map((r) => (r.type === "error" ? r.code : r.type));
    expect(codes.filter((c) => c === "result")).toHaveLength(3000 - 500);
    expect(codes.filter((c) => c === "too-many-candidates")).toHaveLength(500);
    // The publisher PeerConnection has its own 50.
    expect(await request("candidate", { ...candidate(59), target: "publisher" })).toMatchObject({ type: "result" });
  });
});
