import { CHAT_BURST, CHAT_RATE_PER_S, CloseCode, DEFAULT_GRANTS, MAX_CHAT_HISTORY, type ErrorCode, type Grants, type ServerMessageBody } from "@sfu/shared";
import { describe, expect, it } from "vitest";
import { RoomCore, type RoomSettings } from "../../worker/src/room/core.ts";
import { LEFT, nodeRefusal, RoomError, type Connection, type Effect, type ParticipantRecord, type StoredRoom } from "../../worker/src/room/model.ts";
import { mLineBomb, simulcastOffer } from "../support/hostile-sdp.ts";

const GRACE_MS = 15_000;
const NODE = { id: "node-1" };
const OTHER_NODE = { id: "node-2" };
const T0 = 1_000_000;
const ICE = [{ urls: ["turn:turn.test:3478"], username: "u", credential: "c" }];
/** A publish offer as the app sends it, as far as the room reads one: audio, and video in three layers. */
const OFFER = ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=sendonly", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=sendonly", "a=rid:q send", "a=rid:h send", "a=rid:f send", "a=simulcast:send q;h;f", ""].join("\r\n");

/**
 * A room core and its sockets as the shell keeps them: `bind` effects change which connection
 * speaks for which participant, as RoomSockets does.
 */
class Room {
  readonly core: RoomCore;
  /** participant id → connection id */
  readonly connected = new Map<string, string>();
  private readonly subs = new Map<string, string>();

  constructor(stored: StoredRoom = { room: { name: "r", node: NODE }, participants: [] }, settings: RoomSettings = {}) {
    this.core = new RoomCore(stored, GRACE_MS, settings);
  }

  run(effects: Effect[]): Effect[] {
    for (const e of effects) {
      if (e.type !== "bind") continue;
      for (const [p, c] of this.connected) if (c === e.connection) this.connected.delete(p);
      if (e.participantId) this.connected.set(e.participantId, e.connection);
    }
    return effects;
  }

  /** A connection as its socket's attachment says now (`sub` is its token identity). */
  conn(connectionId: string, opts: { sub?: string; grants?: Grants; name?: string } = {}): Connection {
    const sub = opts.sub ?? this.subs.get(connectionId) ?? connectionId;
    this.subs.set(connectionId, sub);
    const participantId = [...this.connected].find(([, c]) => c === connectionId)?.[0] ?? null;
    return { connectionId, participantId, claims: { sub, room: "r", grants: opts.grants ?? DEFAULT_GRANTS, ...(opts.name ? { name: opts.name } : {}) } };
  }

  join(connectionId: string, name = connectionId, opts: { now?: number; grants?: Grants; sub?: string } = {}): { id: string; secret: string; effects: Effect[] } {
    const id = `p-${connectionId}`;
    const secret = `secret-${connectionId}`;
    const effects = this.run(this.core.join(this.conn(connectionId, opts), { id, name, resumeSecret: secret, iceServers: ICE }, opts.now ?? T0, this.connected));
    return { id, secret, effects };
  }

  /** Publishes `tracks` on mids "0", "1", …; `screen` names the mids that carry a screen share. */
  publish(connectionId: string, tracks: Array<{ trackId: string; kind: "audio" | "video" }>, screen: string[] = []): Effect[] {
    const from = this.conn(connectionId);
    const id = this.core.admitPublish(from, OFFER);
    return this.run(this.core.published(from, id, { sdp: "v=0 answer", tracks: tracks.map((t, i) => ({ ...t, mid: String(i) })) }, screen));
  }

  tracksOf(id: string) {
    return this.core.summary(this.connected).participants.find((p) => p.id === id)?.tracks;
  }
}

function refusal(op: () => unknown): ErrorCode | "none" {
  try {
    op();
  } catch (err) {
    if (err instanceof RoomError) return err.code;
    throw err;
  }
  return "none";
}

const broadcasts = (effects: Effect[]) => effects.flatMap((e) => (e.type === "broadcast" ? [e.message] : []));
const sentTo = (effects: Effect[], connection: string): ServerMessageBody[] => effects.flatMap((e) => (e.type === "send" && e.connection === connection ? [e.message] : []));
const stored = (effects: Effect[]) => effects.flatMap((e) => (e.type === "store-participant" ? [e.participant] : []));

describe("joining", () => {
  it("stores the participant, binds the connection, sends it the roster, tells the others and offers it subscriptions", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice");
    const bob = room.join("c-bob", "Bob", { now: T0 + 10 });
    expect(bob.effects).toEqual([
      {
        type: "store-participant",
        participant: { id: bob.id, name: "Bob", identity: "c-bob", grants: DEFAULT_GRANTS, tracks: [], joinedAt: T0 + 10, resumeSecret: bob.secret, disconnectedAt: null },
      },
      { type: "bind", connection: "c-bob", participantId: bob.id },
      {
        type: "send",
        connection: "c-bob",
        message: {
          type: "joined",
          room: "r",
          participantId: bob.id,
          participants: [{ id: alice.id, name: "Alice", tracks: [] }, { id: bob.id, name: "Bob", tracks: [] }],
          resumeSecret: bob.secret,
          resumed: false,
          iceServers: ICE,
        },
      },
      { type: "broadcast", message: { type: "participant-joined", participant: { id: bob.id, name: "Bob", tracks: [] } }, except: bob.id },
      { type: "offer-subscriptions", participantIds: [bob.id] },
    ]);
  });

  it("takes the token's display name over the one in the message", () => {
    const room = new Room();
    const effects = room.run(room.core.join(room.conn("c", { name: "Token Name" }), { id: "p", name: "Typed", resumeSecret: "s", iceServers: [] }, T0, room.connected));
    expect(broadcasts(effects)).toEqual([{ type: "participant-joined", participant: { id: "p", name: "Token Name", tracks: [] } }]);
  });

  it("refuses a second join on a joined connection, changing nothing", () => {
    const room = new Room();
    room.join("c-alice");
    expect(refusal(() => room.core.admitJoin(room.conn("c-alice")))).toBe("already-joined");
    expect(refusal(() => room.join("c-alice"))).toBe("already-joined");
    expect(room.core.summary(room.connected).participants).toHaveLength(1);
  });

  it("names the joiner's region for placement; a placement that found no node is refused", () => {
    const room = new Room({ room: { name: "r", node: null }, participants: [] });
    expect(room.core.admitJoin({ ...room.conn("c"), region: "EU" })).toBe("EU");
    expect(refusal(() => room.core.placed(null))).toBe("no-media-node");
    expect(refusal(() => room.core.requireNode())).toBe("no-media-node");
    expect(room.core.placed(NODE)).toEqual([{ type: "store-room", room: { name: "r", node: NODE } }]);
    expect(room.core.requireNode()).toEqual(NODE);
  });
});

describe("the participant cap", () => {
  it("a join beyond it is refused as room-full and changes nothing", () => {
    const room = new Room(undefined, { maxParticipants: 2 });
    room.join("c-alice");
    room.join("c-bob");
    expect(refusal(() => room.core.admitJoin(room.conn("c-carol")))).toBe("room-full");
    expect(refusal(() => room.join("c-carol"))).toBe("room-full");
    expect(room.core.summary(room.connected).participants.map((p) => p.name)).toEqual(["c-alice", "c-bob"]);
  });

  it("counts participants within their resume grace, and admits one again once someone leaves", () => {
    const room = new Room(undefined, { maxParticipants: 2 });
    const alice = room.join("c-alice");
    room.join("c-bob");
    room.run(room.core.disconnected(room.conn("c-alice"), alice.id, T0));
    expect(refusal(() => room.join("c-carol"))).toBe("room-full");
    room.run(room.core.leave(room.conn("c-bob"), LEFT));
    expect(refusal(() => room.join("c-carol"))).toBe("none");
  });

  it("a full room still takes a join that replaces its identity's participant", () => {
    const room = new Room(undefined, { maxParticipants: 2 });
    room.join("c-alice", "Alice", { sub: "alice" });
    room.join("c-bob");
    expect(refusal(() => room.join("c-alice-2", "Alice", { sub: "alice" }))).toBe("none");
    expect(room.core.summary(room.connected).participants).toHaveLength(2);
  });
});

describe("one participant per identity", () => {
  it("a second join replaces the first: its socket closes with identityReplaced, the others see it leave and the new one join, the node frees it", () => {
    const room = new Room();
    const bob = room.join("c-bob", "Bob");
    const first = room.join("c-alice-1", "Alice", { sub: "alice" });
    const second = room.join("c-alice-2", "Alice", { sub: "alice" });
    const e = second.effects;
    expect(e.slice(0, 2)).toEqual([
      { type: "bind", connection: "c-alice-1", participantId: null },
      { type: "retiring-left", participantId: first.id },
    ]);
    expect(e).toContainEqual({ type: "delete-participant", participantId: first.id });
    expect(e).toContainEqual({ type: "free-on-node", node: NODE, participantId: first.id, background: false });
    expect(e).toContainEqual({ type: "close", connection: "c-alice-1", code: CloseCode.identityReplaced, reason: "joined again on another connection" });
    expect(broadcasts(e)).toEqual([
      { type: "participant-left", participantId: first.id },
      { type: "participant-joined", participant: { id: second.id, name: "Alice", tracks: [] } },
    ]);
    const joined = sentTo(e, "c-alice-2")[0];
    expect(joined).toMatchObject({ type: "joined", participantId: second.id });
    expect(joined?.type === "joined" && joined.participants.map((p) => p.id)).toEqual([bob.id, second.id]);
    // The leave is told before the join, and the room keeps its node throughout.
    expect(e.findIndex((x) => x.type === "close")).toBeLessThan(e.findIndex((x) => x.type === "bind" && x.connection === "c-alice-2"));
    expect(e.some((x) => x.type === "release-node")).toBe(false);
    expect(room.core.summary(room.connected).participants.map((p) => p.id)).toEqual([bob.id, second.id]);
    expect(room.connected.get(second.id)).toBe("c-alice-2");
  });

  it("replacing the only participant keeps the room on its node", () => {
    const room = new Room();
    room.join("c-alice-1", "Alice", { sub: "alice" });
    const second = room.join("c-alice-2", "Alice", { sub: "alice" });
    expect(second.effects.some((x) => x.type === "release-node" || x.type === "store-room")).toBe(false);
    expect(room.core.node).toEqual(NODE);
  });

  it("replaces one within its resume grace too (no socket to close), and five joins leave one participant", () => {
    const room = new Room();
    const first = room.join("c-1", "Alice", { sub: "alice" });
    room.run(room.core.disconnected(room.conn("c-1"), first.id, T0));
    const second = room.join("c-2", "Alice", { sub: "alice" });
    expect(second.effects.some((x) => x.type === "close")).toBe(false);
    expect(second.effects).toContainEqual({ type: "free-on-node", node: NODE, participantId: first.id, background: false });
    expect(refusal(() => room.core.admitResume(room.conn("c-9", { sub: "alice" }), first.id, first.secret))).toBe("resume-failed");
    for (const c of ["c-3", "c-4", "c-5"]) room.join(c, "Alice", { sub: "alice" });
    expect(room.core.summary(room.connected).participants.map((p) => p.id)).toEqual(["p-c-5"]);
    expect(room.core.hasIdentity("alice")).toBe(true);
  });

  it("a resume of the same participant is not a replacement: it keeps its id", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice", { sub: "alice" });
    room.run(room.core.disconnected(room.conn("c-alice"), alice.id, T0));
    const effects = room.run(room.core.resume(room.conn("c-alice-2", { sub: "alice" }), alice.id, alice.secret, ICE, room.connected));
    expect(effects.some((e) => e.type === "delete-participant" || e.type === "free-on-node")).toBe(false);
    expect(room.connected.get(alice.id)).toBe("c-alice-2");
  });
});

describe("leaving", () => {
  it("unbinds the leaver, removes it, tells the others, frees it on the node, re-offers the rest, then closes its socket", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    const bob = room.join("c-bob");
    expect(room.run(room.core.leave(room.conn("c-bob"), LEFT))).toEqual([
      { type: "bind", connection: "c-bob", participantId: null },
      { type: "retiring-left", participantId: bob.id },
      { type: "delete-participant", participantId: bob.id },
      { type: "broadcast", message: { type: "participant-left", participantId: bob.id } },
      { type: "free-on-node", node: NODE, participantId: bob.id, background: false },
      { type: "offer-subscriptions", participantIds: [alice.id] },
      { type: "close", connection: "c-bob", code: CloseCode.normal, reason: "left" },
    ]);
  });

  it("the last one out unplaces the room and releases its node", () => {
    const room = new Room();
    room.join("c-alice");
    const effects = room.run(room.core.leave(room.conn("c-alice"), LEFT));
    expect(effects).toContainEqual({ type: "store-room", room: { name: "r", node: null } });
    expect(effects).toContainEqual({ type: "release-node", node: NODE });
    expect(room.core.node).toBeNull();
    expect(room.core.isEmpty).toBe(true);
  });

  it("before joining only closes the socket", () => {
    const room = new Room();
    expect(room.core.leave(room.conn("c"), LEFT)).toEqual([{ type: "close", connection: "c", code: CloseCode.normal, reason: "left" }]);
  });

  it("a kick closes the participant's socket with kicked; someone not connected cannot be kicked", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    expect(room.core.kick("nobody", room.connected)).toBeNull();
    const effects = room.run(room.core.kick(alice.id, room.connected)!);
    expect(effects.at(-1)).toEqual({ type: "close", connection: "c-alice", code: CloseCode.kicked, reason: "removed by an admin" });
    expect(room.core.kick(alice.id, room.connected)).toBeNull();
  });
});

describe("a dropped socket and resume", () => {
  it("keeps the participant, marks when it dropped and sets the alarm for the end of the grace period", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    const effects = room.run(room.core.disconnected(room.conn("c-alice"), alice.id, T0 + 100));
    expect(effects).toEqual([
      { type: "bind", connection: "c-alice", participantId: null },
      { type: "store-participant", participant: expect.objectContaining({ id: alice.id, disconnectedAt: T0 + 100 }) },
      { type: "set-alarm", at: T0 + 100 + GRACE_MS },
    ]);
    expect(broadcasts(effects)).toEqual([]);
  });

  it("within the grace period: the same participant continues on the new connection", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice", { sub: "alice" });
    room.run(room.core.disconnected(room.conn("c-alice"), alice.id, T0));
    const again = room.conn("c-again", { sub: "alice" });
    room.core.admitResume(again, alice.id, alice.secret);
    const effects = room.run(room.core.resume(again, alice.id, alice.secret, ICE, room.connected));
    expect(effects).toEqual([
      { type: "store-participant", participant: expect.objectContaining({ id: alice.id, disconnectedAt: null }) },
      { type: "bind", connection: "c-again", participantId: alice.id },
      { type: "send", connection: "c-again", message: expect.objectContaining({ type: "joined", participantId: alice.id, resumed: true, resumeSecret: alice.secret }) },
      { type: "offer-subscriptions", participantIds: [alice.id] },
    ]);
    // Past the grace period nobody expires.
    expect(room.core.expired(T0 + GRACE_MS * 2)).toEqual([]);
    expect(room.core.scheduleExpiry(T0 + GRACE_MS * 2)).toEqual([]);
  });

  it("replaces a connection that is still open, closing it with replaced", () => {
    const room = new Room();
    const alice = room.join("c-first", "Alice", { sub: "alice" });
    const effects = room.run(room.core.resume(room.conn("c-second", { sub: "alice" }), alice.id, alice.secret, ICE, room.connected));
    expect(effects.slice(0, 2)).toEqual([
      { type: "bind", connection: "c-first", participantId: null },
      { type: "close", connection: "c-first", code: CloseCode.replaced, reason: "resumed on another connection" },
    ]);
    expect(room.connected.get(alice.id)).toBe("c-second");
    // The replaced socket's close then changes nothing: it no longer speaks for the participant.
    expect(room.core.disconnected(room.conn("c-first"), alice.id, T0)).toEqual([]);
  });

  it("is refused with a wrong secret, another identity's token, an unknown participant, or on a joined connection", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice", { sub: "alice" });
    room.join("c-bob", "Bob", { sub: "bob" });
    expect(refusal(() => room.core.admitResume(room.conn("c-x", { sub: "alice" }), alice.id, "wrong"))).toBe("resume-failed");
    expect(refusal(() => room.core.admitResume(room.conn("c-y", { sub: "mallory" }), alice.id, alice.secret))).toBe("resume-failed");
    expect(refusal(() => room.core.admitResume(room.conn("c-z", { sub: "alice" }), "nobody", alice.secret))).toBe("resume-failed");
    expect(refusal(() => room.core.resume(room.conn("c-bob"), alice.id, alice.secret, ICE, room.connected))).toBe("already-joined");
  });

  it("after the grace period: the alarm removes the participant, the others see it leave, and resume fails", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice", { sub: "alice" });
    room.join("c-bob");
    room.run(room.core.disconnected(room.conn("c-alice"), alice.id, T0));
    expect(room.core.expired(T0 + GRACE_MS - 1)).toEqual([]);
    expect(room.core.expired(T0 + GRACE_MS)).toEqual([alice.id]);
    const effects = room.run(room.core.expire(alice.id));
    expect(broadcasts(effects)).toEqual([{ type: "participant-left", participantId: alice.id }]);
    expect(effects).toContainEqual({ type: "delete-participant", participantId: alice.id });
    expect(room.core.scheduleExpiry(T0 + GRACE_MS)).toEqual([]);
    expect(refusal(() => room.core.admitResume(room.conn("c-again", { sub: "alice" }), alice.id, alice.secret))).toBe("resume-failed");
  });
});

describe("the expiry alarm", () => {
  it("is set for the earliest drop, and each participant expires at its own time", () => {
    const room = new Room();
    const a = room.join("c-a");
    const b = room.join("c-b");
    room.run(room.core.disconnected(room.conn("c-b"), b.id, T0 + 5000));
    expect(room.run(room.core.disconnected(room.conn("c-a"), a.id, T0 + 7000))).toContainEqual({ type: "set-alarm", at: T0 + 5000 + GRACE_MS });
    expect(room.core.expired(T0 + 5000 + GRACE_MS)).toEqual([b.id]);
    room.run(room.core.expire(b.id));
    expect(room.core.scheduleExpiry(T0 + 5000 + GRACE_MS)).toEqual([{ type: "set-alarm", at: T0 + 7000 + GRACE_MS }]);
    // An alarm that runs late is set no earlier than now.
    expect(room.core.scheduleExpiry(T0 + 60_000)).toEqual([{ type: "set-alarm", at: T0 + 60_000 }]);
  });

  it("after a restart, participants whose socket did not survive are disconnected from now", () => {
    const record = (id: string, disconnectedAt: number | null): ParticipantRecord => ({
      id, name: id, identity: id, grants: DEFAULT_GRANTS, tracks: [], joinedAt: 0, resumeSecret: "s", disconnectedAt,
    });
    const stored: StoredRoom = { room: { name: "r", node: NODE }, participants: [record("live", null), record("gone", null), record("dropped", T0 - 1000)] };
    const { core, effects } = RoomCore.restore(stored, new Map([["live", "c-live"]]), T0, GRACE_MS);
    expect(effects).toEqual([
      { type: "store-participant", participant: record("gone", T0) },
      { type: "set-alarm", at: T0 - 1000 + GRACE_MS },
    ]);
    expect(core.expired(T0 + GRACE_MS)).toEqual(["gone", "dropped"]);
  });
});

describe("publishing", () => {
  it("answers the publisher, tells everyone its tracks, stores them and re-offers the others", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice");
    const bob = room.join("c-bob");
    const effects = room.publish("c-alice", [{ trackId: "a1", kind: "audio" }, { trackId: "v1", kind: "video" }]);
    const tracks = [{ id: "a1", kind: "audio", muted: false, source: "microphone" }, { id: "v1", kind: "video", muted: false, source: "camera" }];
    expect(effects).toEqual([
      { type: "retiring-republished", participantId: alice.id },
      { type: "send", connection: "c-alice", message: { type: "publish-answer", sdp: "v=0 answer" } },
      { type: "store-participant", participant: expect.objectContaining({ id: alice.id, tracks }) },
      { type: "broadcast", message: { type: "participant-updated", participant: { id: alice.id, name: "Alice", tracks } } },
      { type: "offer-subscriptions", participantIds: [bob.id] },
    ]);
  });

  it("keeps a kind muted across a re-publish", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    room.publish("c-alice", [{ trackId: "a1", kind: "audio" }]);
    room.run(room.core.setMuted(room.conn("c-alice"), "audio", true));
    room.publish("c-alice", [{ trackId: "a2", kind: "audio" }, { trackId: "v2", kind: "video" }]);
    expect(room.tracksOf(alice.id)).toEqual([{ id: "a2", kind: "audio", muted: true, source: "microphone" }, { id: "v2", kind: "video", muted: false, source: "camera" }]);
  });

  it("is refused before join and without the publish grant", () => {
    const room = new Room();
    expect(refusal(() => room.core.admitPublish(room.conn("c"), OFFER))).toBe("not-joined");
    room.join("c-viewer", "Viewer", { grants: { ...DEFAULT_GRANTS, canPublish: false } });
    expect(refusal(() => room.core.admitPublish(room.conn("c-viewer"), OFFER))).toBe("forbidden");
  });

  it("a publish answered after the participant left changes nothing", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    const from = room.conn("c-alice");
    room.run(room.core.leave(from, LEFT));
    expect(room.core.published(from, alice.id, { sdp: "v=0", tracks: [] })).toEqual([]);
  });
});

describe("screen sharing", () => {
  const camera = [{ trackId: "a1", kind: "audio" as const }, { trackId: "v1", kind: "video" as const }];
  const withScreen = [...camera, { trackId: "s1", kind: "video" as const }];

  it("the video track on a screen mid is the participant's screen; the others are its camera and mic", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    room.publish("c-alice", withScreen, ["2"]);
    expect(room.tracksOf(alice.id)).toEqual([
      { id: "a1", kind: "audio", muted: false, source: "microphone" },
      { id: "v1", kind: "video", muted: false, source: "camera" },
      { id: "s1", kind: "video", muted: false, source: "screen" },
    ]);
  });

  it("the camera button mutes the camera only, and a share started while the camera is off is not muted", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    room.publish("c-alice", camera);
    room.run(room.core.setMuted(room.conn("c-alice"), "video", true));
    room.publish("c-alice", withScreen, ["2"]);
    expect(room.tracksOf(alice.id)?.map((t) => `${t.id}:${t.muted}`)).toEqual(["a1:false", "v1:true", "s1:false"]);
    room.run(room.core.setMuted(room.conn("c-alice"), "video", false));
    room.run(room.core.setMuted(room.conn("c-alice"), "video", true));
    expect(room.tracksOf(alice.id)?.map((t) => `${t.id}:${t.muted}`)).toEqual(["a1:false", "v1:true", "s1:false"]);
  });

  it("stopping the share (an offer without it) takes the screen track away for everyone", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    const bob = room.join("c-bob");
    room.publish("c-alice", withScreen, ["2"]);
    const effects = room.publish("c-alice", camera);
    expect(room.tracksOf(alice.id)?.map((t) => t.source)).toEqual(["microphone", "camera"]);
    expect(effects).toContainEqual({ type: "offer-subscriptions", participantIds: [bob.id] });
  });

  it("subscriber offers say which received track is a screen share", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    room.join("c-bob");
    room.publish("c-alice", withScreen, ["2"]);
    const offer = { status: "offer" as const, sdp: "v=0 offer", tracks: [
      { mid: "0", trackId: "v1", participantId: alice.id, kind: "video" as const },
      { mid: "1", trackId: "s1", participantId: alice.id, kind: "video" as const },
    ] };
    expect(room.core.subscriberOffered("c-bob", offer)).toEqual([{ type: "send", connection: "c-bob", message: { type: "subscriber-offer", sdp: "v=0 offer", tracks: [
      { ...offer.tracks[0], source: "camera" },
      { ...offer.tracks[1], source: "screen" },
    ] } }]);
  });
});

describe("muting", () => {
  it("a participant's mute changes its tracks of that kind, stored and broadcast", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice");
    room.publish("c-alice", [{ trackId: "a1", kind: "audio" }, { trackId: "v1", kind: "video" }]);
    const effects = room.run(room.core.setMuted(room.conn("c-alice"), "audio", true));
    const tracks = [{ id: "a1", kind: "audio", muted: true, source: "microphone" }, { id: "v1", kind: "video", muted: false, source: "camera" }];
    expect(effects).toEqual([
      { type: "store-participant", participant: expect.objectContaining({ id: alice.id, tracks }) },
      { type: "broadcast", message: { type: "participant-updated", participant: { id: alice.id, name: "Alice", tracks } } },
    ]);
  });

  it("an admin's mute tells the participant to stop sending, and only an admin can undo it", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice");
    room.publish("c-alice", [{ trackId: "a1", kind: "audio" }, { trackId: "v1", kind: "video" }]);

    const muting = room.run(room.core.adminMuted(alice.id, "audio", true, room.connected));
    expect(sentTo(muting, "c-alice")).toEqual([{ type: "force-mute", kind: "audio" }]);
    expect(stored(muting)).toEqual([expect.objectContaining({ adminMuted: ["audio"], tracks: [{ id: "a1", kind: "audio", muted: true, source: "microphone" }, { id: "v1", kind: "video", muted: false, source: "camera" }] })]);
    expect(broadcasts(muting)).toHaveLength(1);

    expect(refusal(() => room.core.setMuted(room.conn("c-alice"), "audio", false))).toBe("forbidden");
    expect(refusal(() => room.core.setMuted(room.conn("c-alice"), "video", true))).toBe("none");
    // A re-publish keeps the admin's mute: muted at the node again, and muted in the roster.
    expect(room.core.adminMutes(alice.id)).toEqual(["audio"]);

    const unmuting = room.run(room.core.adminMuted(alice.id, "audio", false, room.connected));
    expect(sentTo(unmuting, "c-alice")).toEqual([]);
    expect(stored(unmuting)).toEqual([expect.objectContaining({ adminMuted: [] })]);
    expect(refusal(() => room.core.setMuted(room.conn("c-alice"), "audio", false))).toBe("none");
  });

  it("an admin-muted kind starts muted on a first publish", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    room.run(room.core.adminMuted(alice.id, "video", true, room.connected));
    room.publish("c-alice", [{ trackId: "v1", kind: "video" }]);
    expect(room.tracksOf(alice.id)).toEqual([{ id: "v1", kind: "video", muted: true, source: "camera" }]);
  });

  it("an admin's mute of someone unknown changes nothing", () => {
    expect(new Room().core.adminMuted("nobody", "audio", true, new Map())).toEqual([]);
  });
});

describe("failed media", () => {
  it("from the room's node: the participant's tracks are withdrawn, it is told to publish again, and everyone is re-offered", () => {
    const room = new Room();
    const alice = room.join("c-alice", "Alice");
    const bob = room.join("c-bob");
    room.publish("c-alice", [{ trackId: "v1", kind: "video" }]);
    expect(room.run(room.core.mediaFailed(NODE.id, alice.id, room.connected))).toEqual([
      { type: "store-participant", participant: expect.objectContaining({ id: alice.id, tracks: [] }) },
      { type: "broadcast", message: { type: "participant-updated", participant: { id: alice.id, name: "Alice", tracks: [] } } },
      { type: "send", connection: "c-alice", message: { type: "error", code: "media-failed", message: "the media connection failed; publish again" } },
      { type: "offer-subscriptions", participantIds: [alice.id, bob.id] },
    ]);
  });

  it("from another node, or about someone not in the room, changes nothing", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    room.publish("c-alice", [{ trackId: "v1", kind: "video" }]);
    expect(room.core.mediaFailed(OTHER_NODE.id, alice.id, room.connected)).toEqual([]);
    expect(room.core.mediaFailed(NODE.id, "nobody", room.connected)).toEqual([]);
    expect(room.tracksOf(alice.id)).toHaveLength(1);
  });

  it("restart-media frees the participant on the node first, then starts its media afresh", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    const effects = room.run(room.core.restartMedia(room.conn("c-alice"), room.connected));
    expect(effects[0]).toEqual({ type: "free-on-node", node: NODE, participantId: alice.id, background: false });
    expect(sentTo(effects, "c-alice")).toEqual([expect.objectContaining({ type: "error", code: "media-failed" })]);
    expect(refusal(() => room.core.restartMedia(room.conn("c-stranger"), room.connected))).toBe("not-joined");
  });
});

describe("moving off a node", () => {
  function roomOfTwo() {
    const room = new Room();
    const alice = room.join("c-alice", "Alice");
    const bob = room.join("c-bob", "Bob");
    room.publish("c-alice", [{ trackId: "v1", kind: "video" }]);
    return { room, alice, bob };
  }

  it("only when the room is on that node; the room is unplaced and, with participants, needs a node", () => {
    const { room } = roomOfTwo();
    expect(room.core.leaveNode(OTHER_NODE.id)).toBeNull();
    expect(room.core.leaveNode(NODE.id)).toEqual({ from: NODE, effects: [{ type: "store-room", room: { name: "r", node: null } }], needsNode: true });
    expect(room.core.node).toBeNull();
    expect(new Room().core.leaveNode(NODE.id)?.needsNode).toBe(false);
  });

  it("a node that went away: everyone is freed there, tracks are withdrawn, and everyone is told media-failed", () => {
    const { room, alice, bob } = roomOfTwo();
    room.core.leaveNode(NODE.id);
    room.run(room.core.placed(OTHER_NODE));
    const effects = room.run(room.core.moved(NODE, "node-1 went away", false));
    expect(effects.filter((e) => e.type === "free-on-node")).toEqual([
      { type: "free-on-node", node: NODE, participantId: alice.id, background: true },
      { type: "free-on-node", node: NODE, participantId: bob.id, background: true },
    ]);
    expect(broadcasts(effects)).toEqual([
      { type: "participant-updated", participant: { id: alice.id, name: "Alice", tracks: [] } },
      { type: "participant-updated", participant: { id: bob.id, name: "Bob", tracks: [] } },
      { type: "error", code: "media-failed", message: "node-1 went away; the room moved to another media server: publish again" },
    ]);
    expect(effects.some((e) => e.type === "retire-node")).toBe(false);
  });

  it("a drained node that still forwards retires, waiting for those who published; everyone is told media-moved", () => {
    const { room, alice, bob } = roomOfTwo();
    room.core.leaveNode(NODE.id);
    const effects = room.run(room.core.moved(NODE, "node-1 is draining", true));
    expect(effects[0]).toEqual({ type: "retire-node", node: NODE, participantIds: [alice.id, bob.id], publisherIds: [alice.id] });
    expect(effects.some((e) => e.type === "free-on-node")).toBe(false);
    expect(broadcasts(effects).at(-1)).toEqual({ type: "error", code: "media-moved", message: "node-1 is draining; the room moved to another media server: publish again" });
    expect(room.tracksOf(alice.id)).toEqual([]);
  });

  it("with no node to move to, everyone is told", () => {
    expect(new Room().core.stranded("no-media-node", "node-1 went away")).toEqual([
      { type: "broadcast", message: { type: "error", code: "no-media-node", message: "node-1 went away and no other is available" } },
    ]);
  });
});

describe("the node's other events", () => {
  it("active-speaker from the room's node is broadcast; from another node or about a stranger it is not", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    expect(room.core.activeSpeaker(NODE.id, alice.id)).toEqual([{ type: "broadcast", message: { type: "active-speaker", participantId: alice.id } }]);
    expect(room.core.activeSpeaker(NODE.id, null)).toEqual([{ type: "broadcast", message: { type: "active-speaker", participantId: null } }]);
    expect(room.core.activeSpeaker(OTHER_NODE.id, alice.id)).toEqual([]);
    expect(room.core.activeSpeaker(NODE.id, "stranger")).toEqual([]);
  });

  it("layer-demand reaches only the publisher of that video track", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    room.join("c-bob");
    room.publish("c-alice", [{ trackId: "a1", kind: "audio" }, { trackId: "v1", kind: "video" }]);
    expect(room.core.layerDemand(NODE.id, alice.id, "v1", ["q"], room.connected)).toEqual([
      { type: "send", connection: "c-alice", message: { type: "publish-layers", trackId: "v1", rids: ["q"] } },
    ]);
    expect(room.core.layerDemand(NODE.id, alice.id, "a1", ["q"], room.connected)).toEqual([]);
    expect(room.core.layerDemand(NODE.id, alice.id, "someone-else", ["q"], room.connected)).toEqual([]);
    expect(room.core.layerDemand(OTHER_NODE.id, alice.id, "v1", ["q"], room.connected)).toEqual([]);
  });
});

describe("errors for bad states", () => {
  it("a connection that has not joined may only join or resume", () => {
    const room = new Room();
    const stranger = room.conn("c-stranger");
    expect(refusal(() => room.core.setMuted(stranger, "audio", true))).toBe("not-joined");
    expect(refusal(() => room.core.joinedAs(stranger))).toBe("not-joined");
    expect(refusal(() => room.core.admitCandidate(stranger, "publisher", { candidate: "candidate:1 1 udp 1 203.0.113.7 9 typ host" }))).toBe("not-joined");
    expect(refusal(() => room.core.admitPreferences(stranger))).toBe("not-joined");
  });

  it("candidates the node cannot use are not forwarded; preferences only from a subscriber of a placed room", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    expect(room.core.admitCandidate(room.conn("c-alice"), "publisher", { candidate: "candidate:1 1 udp 2122260223 abcd.local 50000 typ host" })).toBeNull();
    expect(room.core.admitCandidate(room.conn("c-alice"), "publisher", { candidate: "candidate:3 1 udp 2122260223 203.0.113.7 50000 typ host" })).toBe(alice.id);
    expect(room.core.admitPreferences(room.conn("c-alice"))).toBe(alice.id);
    room.join("c-viewer", "V", { grants: { ...DEFAULT_GRANTS, canSubscribe: false } });
    expect(room.core.admitPreferences(room.conn("c-viewer"))).toBeNull();
    expect(room.core.subscribers([alice.id, "p-c-viewer", "nobody"], room.connected)).toEqual([{ participantId: alice.id, connection: "c-alice" }]);
  });

  it("an unparsable message gets its error; a wrong protocol version also closes the socket", () => {
    const room = new Room();
    const from = room.conn("c");
    expect(room.core.refused(from, { code: "bad-message", message: "bad", inReplyTo: "dance" })).toEqual([
      { type: "send", connection: "c", message: { type: "error", code: "bad-message", message: "bad", inReplyTo: "dance" } },
    ]);
    expect(room.core.refused(from, { code: "unsupported-version", message: "v2" }).at(-1)).toEqual({
      type: "close", connection: "c", code: CloseCode.unsupportedVersion, reason: "unsupported protocol version",
    });
  });

  it("a socket that sent too many bad frames: its participant leaves and the socket closes with policyViolation", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    room.join("c-bob");
    const effects = room.run(room.core.abusive(room.conn("c-alice")));
    expect(broadcasts(effects)).toContainEqual({ type: "participant-left", participantId: alice.id });
    expect(effects.at(-1)).toEqual({ type: "close", connection: "c-alice", code: CloseCode.policyViolation, reason: "too many bad messages" });
    expect(room.core.has(alice.id)).toBe(false);
    expect(room.core.abusive(room.conn("c-stranger"))).toEqual([{ type: "close", connection: "c-stranger", code: CloseCode.policyViolation, reason: "too many bad messages" }]);
  });

  it("a node's refusal reaches the browser in fixed plain words, never the node's own text", () => {
    const room = new Room();
    const [sent] = room.core.subscriberOfferFailed("c", nodeRefusal("internal"));
    expect(sent).toEqual({ type: "send", connection: "c", message: { type: "error", code: "media-node-error", message: "the media server could not do that; try again" } });
    expect(nodeRefusal("over-capacity").plainWords).toBe("the media server is full; try again shortly");
  });

  it("a socket opened to a new room creates its record once", () => {
    const core = new RoomCore({ room: null, participants: [] }, GRACE_MS);
    expect(core.opened("lobby")).toEqual([{ type: "store-room", room: { name: "lobby", node: null } }]);
    expect(core.opened("lobby")).toEqual([]);
    expect(core.name).toBe("lobby");
  });
});

describe("media limits", () => {
  const candidate = (address: string, port = 50000) => ({ candidate: `candidate:1 1 udp 2122260223 ${address} ${port} typ host` });

  it("a publish offer over the limits is refused with too-many-tracks before any node call", () => {
    const room = new Room();
    room.join("c-alice");
    const from = room.conn("c-alice");
    expect(refusal(() => room.core.admitPublish(from, mLineBomb(527)))).toBe("too-many-tracks");
    expect(refusal(() => room.core.admitPublish(from, mLineBomb(3)))).toBe("too-many-tracks"); // three audio tracks
    expect(refusal(() => room.core.admitPublish(from, simulcastOffer(4)))).toBe("too-many-tracks");
    expect(refusal(() => room.core.admitPublish(from, mLineBomb(2)))).toBe("none");
    expect(refusal(() => room.core.admitPublish(from, simulcastOffer(3)))).toBe("none");
    expect(refusal(() => room.core.admitPublish(from, OFFER))).toBe("none");
  });

  it("a repeated candidate is not sent again; past 50 distinct per PeerConnection, too-many-candidates", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    const from = room.conn("c-alice");
    for (let port = 1; port <= 50; port++) {
      expect(room.core.admitCandidate(from, "publisher", candidate("203.0.113.7", port))).toBe(alice.id);
      expect(room.core.admitCandidate(from, "publisher", candidate("203.0.113.7", port))).toBeNull();
    }
    expect(refusal(() => room.core.admitCandidate(from, "publisher", candidate("203.0.113.7", 51)))).toBe("too-many-candidates");
    // A repeat of one taken is still just a repeat; the subscriber PeerConnection has its own 50.
    expect(room.core.admitCandidate(from, "publisher", candidate("203.0.113.7", 1))).toBeNull();
    expect(room.core.admitCandidate(from, "subscriber", candidate("203.0.113.7", 51))).toBe(alice.id);
  });

  it("fresh PeerConnections (a media restart, a move) start with no candidates taken", () => {
    const room = new Room();
    const alice = room.join("c-alice");
    const fill = () => {
      for (let port = 1; port <= 50; port++) room.core.admitCandidate(room.conn("c-alice"), "publisher", candidate("203.0.113.7", port));
    };
    fill();
    room.run(room.core.restartMedia(room.conn("c-alice"), room.connected));
    expect(room.core.admitCandidate(room.conn("c-alice"), "publisher", candidate("203.0.113.7", 1))).toBe(alice.id);
    fill();
    room.core.leaveNode(NODE.id);
    room.run(room.core.moved(NODE, "node-1 went away", false));
    expect(room.core.admitCandidate(room.conn("c-alice"), "publisher", candidate("203.0.113.7", 1))).toBe(alice.id);
  });

  it("in production, loopback, private and link-local candidates are dropped without an error; in development they go to the node", () => {
    const production = new Room();
    const development = new Room(undefined, { allowPrivateCandidates: true });
    const a = production.join("c-alice");
    const b = development.join("c-bob");
    for (const address of ["127.0.0.1", "10.1.2.3", "192.168.1.20", "172.20.0.5", "169.254.10.1", "100.64.0.1", "fe80::1", "fd00::5", "::1", "internal.example"]) {
      expect(production.core.admitCandidate(production.conn("c-alice"), "publisher", candidate(address)), address).toBeNull();
    }
    expect(production.core.admitCandidate(production.conn("c-alice"), "publisher", candidate("198.51.100.20"))).toBe(a.id);
    expect(production.core.admitCandidate(production.conn("c-alice"), "publisher", candidate("2001:db8::20"))).toBe(a.id);
    expect(development.core.admitCandidate(development.conn("c-bob"), "publisher", candidate("127.0.0.1"))).toBe(b.id);
    expect(development.core.admitCandidate(development.conn("c-bob"), "publisher", candidate("10.1.2.3"))).toBe(b.id);
  });
});

describe("chat", () => {
  const posted = (effects: Effect[]) => effects.flatMap((e) => (e.type === "store-chat" ? [e] : []));

  it("a post is stored and sent to everyone, the sender too, with its sender's id and name and the room's time", () => {
    const room = new Room();
    const alice = room.join("a", "Alice");
    room.join("b", "Bob");
    const effects = room.core.postChat(room.conn("a"), "hello", T0 + 5);
    const message = { id: "1", from: alice.id, name: "Alice", text: "hello", at: T0 + 5 };
    expect(posted(effects)).toEqual([{ type: "store-chat", message, evicted: [] }]);
    expect(broadcasts(effects)).toEqual([{ type: "chat", message }]);
    expect(effects.find((e) => e.type === "broadcast")).not.toHaveProperty("except");
  });

  it("a later joiner gets the history right after joined, oldest first; a room without chat sends none", () => {
    const room = new Room();
    room.join("a", "Alice");
    expect(sentTo(room.join("b", "Bob").effects, "b").map((m) => m.type)).not.toContain("chat-history");
    room.core.postChat(room.conn("a"), "one", T0 + 1);
    room.core.postChat(room.conn("b"), "two", T0 + 2);
    const carol = sentTo(room.join("c", "Carol").effects, "c");
    expect(carol.map((m) => m.type).slice(0, 2)).toEqual(["joined", "chat-history"]);
    const history = carol.find((m) => m.type === "chat-history");
    expect(history?.type === "chat-history" && history.messages.map((m) => [m.id, m.name, m.text])).toEqual([["1", "Alice", "one"], ["2", "Bob", "two"]]);
  });

  it("keeps the last MAX_CHAT_HISTORY: the oldest is evicted from the history and from storage", () => {
    const room = new Room();
    room.join("a", "Alice");
    let now = T0;
    for (let i = 1; i <= MAX_CHAT_HISTORY; i++) {
      now += 1000; // within the rate
      expect(posted(room.core.postChat(room.conn("a"), `m${i}`, now))[0]!.evicted).toEqual([]);
    }
    const overflow = posted(room.core.postChat(room.conn("a"), "one more", now + 1000))[0]!;
    expect(overflow.evicted.map((m) => m.text)).toEqual(["m1"]);
    const history = sentTo(room.join("b", "Bob").effects, "b").find((m) => m.type === "chat-history");
    expect(history?.type === "chat-history" && [history.messages.length, history.messages[0]!.text, history.messages.at(-1)!.text]).toEqual([MAX_CHAT_HISTORY, "m2", "one more"]);
  });

  it("a participant may post CHAT_BURST at once, then CHAT_RATE_PER_S a second; a refused post changes nothing; others are not held back", () => {
    const room = new Room();
    room.join("a", "Alice");
    room.join("b", "Bob");
    for (let i = 0; i < CHAT_BURST; i++) room.core.postChat(room.conn("a"), `burst ${i}`, T0);
    expect(refusal(() => room.core.postChat(room.conn("a"), "too fast", T0))).toBe("rate-limited");
    expect(refusal(() => room.core.postChat(room.conn("b"), "Bob is fine", T0))).toBe("none");
    expect(refusal(() => room.core.postChat(room.conn("a"), "still too fast", T0 + 1000 / CHAT_RATE_PER_S - 1))).toBe("rate-limited");
    expect(refusal(() => room.core.postChat(room.conn("a"), "after a while", T0 + 1000 / CHAT_RATE_PER_S))).toBe("none");
    const history = sentTo(room.join("c", "Carol").effects, "c").find((m) => m.type === "chat-history");
    expect(history?.type === "chat-history" && history.messages.map((m) => m.text)).toEqual([...Array.from({ length: CHAT_BURST }, (_, i) => `burst ${i}`), "Bob is fine", "after a while"]);
  });

  it("refuses a connection that has not joined", () => {
    const room = new Room();
    expect(refusal(() => room.core.postChat(room.conn("x"), "hi", T0))).toBe("not-joined");
  });

  it("comes back from storage in sequence order and continues the sequence; an emptied room starts a new chat", () => {
    const m = (id: string, text: string) => ({ id, from: "p-old", name: "Old", text, at: T0 });
    const room = new Room({ room: { name: "r", node: NODE }, participants: [], chat: [m("10", "ten"), m("2", "two"), m("9", "nine")] });
    const alice = room.join("a", "Alice");
    const history = sentTo(alice.effects, "a").find((x) => x.type === "chat-history");
    expect(history?.type === "chat-history" && history.messages.map((x) => x.text)).toEqual(["two", "nine", "ten"]);
    expect(posted(room.core.postChat(room.conn("a"), "next", T0))[0]!.message.id).toBe("11");

    room.run(room.core.leave(room.conn("a"), LEFT));
    expect(sentTo(room.join("b", "Bob").effects, "b").map((x) => x.type)).not.toContain("chat-history");
    expect(posted(room.core.postChat(room.conn("b"), "fresh", T0))[0]!.message.id).toBe("1");
  });
});
