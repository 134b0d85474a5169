import { reset } from "cloudflare:test";
import { MAX_CANDIDATES_PER_PC, SIGNAL_BURST, SIGNAL_RATE_PER_S, type TrackPreference } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mLineBomb } from "../support/hostile-sdp.ts";
import { closeOpenedSockets, eventually, openRoomSocket, publishTracks, registerNode, storedRoom, type FakeNode, type Request } from "./helpers.ts";

// Replays of media-signaling attacks against the room, with a fake node that counts what reaches it.
let node: FakeNode;
/** Paced floods take a few seconds; workerd under load takes longer. */
const FLOOD_MS = 60_000;
/** A single wait inside a flood test: shorter than the test, so a missing reply fails with what did arrive. */
const WAIT_MS = 20_000;

beforeEach(async () => {
  await reset();
  node = await registerNode("fake-node");
  node.answer = (req) => (req.action === "subscriber-offer" ? { body: { status: "unchanged" } } : { body: {} });
});

afterEach(closeOpenedSockets);

/** Waits until the room has handled everything `s` sent before: a set-muted queues behind it and is answered. */
async function drained(s: Awaited<ReturnType<typeof openRoomSocket>>, participantId: string, muted: boolean) {
  s.send({ v: 1, type: "set-muted", kind: "audio", muted });
  await s.next("participant-updated", (m) => m.participant.id === participantId, WAIT_MS);
}

describe("the m-line bomb", () => {
  it("an offer with 527 m-sections gets too-many-tracks without a node call; the room keeps working", async () => {
    const attacker = await openRoomSocket("bomb");
    const { participantId } = await attacker.join("Mallory");
    attacker.send({ v: 1, type: "publish", sdp: mLineBomb(527) });
    const refused = await attacker.next("error", (m) => m.inReplyTo === "publish");
    expect(refused.code).toBe("too-many-tracks");
    expect(refused.message).toMatch(/at most 8 media sections/);
    expect(node.sent("publish")).toHaveLength(0);
    expect((await storedRoom("bomb")).participants.find((p) => p.id === participantId)!.tracks).toEqual([]);

    // A later joiner joins, and sees a normal publish.
    const alice = await openRoomSocket("bomb");
    const joined = await alice.join("Alice");
    expect(joined.participants.map((p) => [p.name, p.tracks])).toEqual(expect.arrayContaining([["Mallory", []], ["Alice", []]]));
    const bob = await openRoomSocket("bomb");
    await bob.join("Bob");
    await publishTracks(node, alice, [{ id: "a-audio", kind: "audio" }, { id: "a-video", kind: "video" }], [bob]);
  });

  it("a node's own too-many-tracks refusal reaches the browser with that code", async () => {
    const s = await openRoomSocket("node-limit");
    await s.join("Alice");
    node.answer = (req) => (req.action === "publish" ? { error: "too-many-tracks", message: "a participant may publish at most 2 audio tracks" } : { body: { status: "unchanged" } });
    s.send({ v: 1, type: "publish", sdp: mLineBomb(2) });
    expect(await s.next("error", (m) => m.inReplyTo === "publish")).toMatchObject({ code: "too-many-tracks", message: /at most 2 audio/ });
  });
});

describe("the candidate flood", () => {
  it("120 candidates, 60 distinct, sent under the socket's rate: 50 reach the node once each, the other distinct ones get too-many-candidates", async () => {
    // A raw flood is cut off by the socket's rate limit first (hostile-signaling.test.ts); this paces
    // under it to reach the per-PeerConnection cap and the deduplication behind it.
    const attacker = await openRoomSocket("flood");
    const { participantId } = await attacker.join("Mallory");
    const candidate = (i: number) => `candidate:1 1 udp 2122260223 127.0.0.1 ${40_000 + (i % 60)} typ host`;
    for (let i = 0; i < 120; i++) {
      attacker.send({ v: 1, type: "ice-candidate", target: "publisher", candidate: { candidate: candidate(i), sdpMid: "0", sdpMLineIndex: 0 } });
      if (i >= SIGNAL_BURST / 2) await new Promise((r) => setTimeout(r, 1000 / (SIGNAL_RATE_PER_S - 4)));
    }
    await drained(attacker, participantId, true);

    // The 10 distinct ones past the cap, twice each (the whole list, so a miss shows what came instead).
    const errors = attacker.received.flatMap((m) => (m.type === "error" ? [`${m.code} ${m.inReplyTo} ${m.message}`] : []));
    expect(errors).toEqual(Array.from({ length: 20 }, () => `too-many-candidates ice-candidate a publisher connection may send at most ${MAX_CANDIDATES_PER_PC} ICE candidates`));
    await eventually(async () => expect(node.sent("candidate")).toHaveLength(50));
    const sent = node.sent("candidate").map((r) => (r.body as { candidate: { candidate: string } }).candidate.candidate);
    expect(new Set(sent)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => candidate(i))));

    // The subscriber PeerConnection has its own cap, and the room serves a newcomer.
    attacker.send({ v: 1, type: "ice-candidate", target: "subscriber", candidate: { candidate: candidate(59) } });
    await eventually(async () => expect(node.sent("candidate")).toHaveLength(51));
    const bob = await openRoomSocket("flood");
    expect((await bob.join("Bob")).participants.map((p) => p.name).sort()).toEqual(["Bob", "Mallory"]);
  }, FLOOD_MS);

  it("a node's own too-many-candidates refusal reaches the browser with that code", async () => {
    const s = await openRoomSocket("node-candidates");
    await s.join("Alice");
    node.answer = (req) => (req.action === "candidate" ? { error: "too-many-candidates", message: "a PeerConnection takes at most 50 remote candidates" } : { body: { status: "unchanged" } });
    s.send({ v: 1, type: "ice-candidate", target: "publisher", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host" } });
    expect(await s.next("error", (m) => m.inReplyTo === "ice-candidate")).toMatchObject({ code: "too-many-candidates" });
  });
});

describe("the preferences flood", () => {
  it("a socket's whole burst of subscription-prefs becomes a few node calls that leave the last size of each track; a bystander joins meanwhile", async () => {
    const alice = await openRoomSocket("prefs");
    const { participantId } = await alice.join("Alice");
    const held: Request[] = [];
    const answer = node.answer;
    node.answer = (req) => {
      if (req.action !== "preferences" || held.length > 0) return answer(req);
      held.push(req); // the first call waits until the test lets it go
      return "ignore";
    };

    const last = new Map<string, TrackPreference>();
    // The socket's whole allowance but for what the rest of the test sends (the join, the set-muted
    // below, the one in `drained`) and one spare: that last message may come within the 50 ms the
    // bucket takes to refill one token, and must not depend on how fast the machine is.
    for (let i = 1; i <= SIGNAL_BURST - 4; i++) {
      const tracks = [{ trackId: `t${i % 5}`, width: 2 * i, height: i }, { trackId: "shared", width: i, height: i }];
      for (const t of tracks) last.set(t.trackId, t);
      alice.send({ v: 1, type: "subscription-prefs", tracks });
    }
    alice.send({ v: 1, type: "set-muted", kind: "audio", muted: true });
    await eventually(async () => expect(held).toHaveLength(1), WAIT_MS);

    // Alice's first call is still out: another participant is not held up by her flood.
    const bystander = await openRoomSocket("prefs");
    expect((await bystander.join("Bob")).participants.map((p) => p.name).sort()).toEqual(["Alice", "Bob"]);

    node.send({ type: "result", id: held[0]!.id, body: {} });
    await alice.next("participant-updated", (m) => m.participant.id === participantId, WAIT_MS);
    await drained(alice, participantId, false);

    const calls = node.sent("preferences");
    expect(calls.length).toBeLessThanOrEqual(3);
    const atNode = new Map<string, TrackPreference>();
    for (const call of calls) for (const t of (call.body as { tracks: TrackPreference[] }).tracks) atNode.set(t.trackId, t);
    expect(atNode).toEqual(last);
    expect(alice.received.filter((m) => m.type === "error")).toEqual([]);
  }, FLOOD_MS);
});
