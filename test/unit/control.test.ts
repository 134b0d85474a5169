import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NodeAction } from "@sfu/shared";
import { answer, runAction } from "../../media-node/src/control.ts";
import { ManualScheduler } from "../../media-node/src/manual-scheduler.ts";
import { MediaNode } from "../../media-node/src/media-node.ts";

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
