import { reset } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeOpenedSockets, openRoomSocket, registerNode, roomToken } from "./helpers.ts";

beforeEach(async () => {
  await reset();
  await registerNode("fake-node");
});

afterEach(closeOpenedSockets);

describe("resuming after a dropped socket", () => {
  it("within the grace period: same participant, no leave seen by the others", async () => {
    const token = await roomToken("resume", { sub: "alice" });
    const alice = await openRoomSocket("resume", token);
    const bob = await openRoomSocket("resume");
    const joined = await alice.join("Alice");
    await bob.join("Bob");
    alice.close(3000, "network blip");

    const again = await openRoomSocket("resume", token);
    again.send({ v: 1, type: "resume", participantId: joined.participantId, secret: joined.resumeSecret });
    const resumed = await again.next("joined");
    expect(resumed.resumed).toBe(true);
    expect(resumed.participantId).toBe(joined.participantId);
    expect(resumed.participants.map((p) => p.name).sort()).toEqual(["Alice", "Bob"]);
    // Past the grace period nothing removes the resumed participant.
    await new Promise((r) => setTimeout(r, 500));
    expect(bob.received.filter((m) => m.type === "participant-left")).toEqual([]);
  });

  it.each([
    ["a wrong secret", "wrong", undefined],
    ["another identity's token", undefined, "mallory"],
  ])("with %s is refused", async (_name, secret, identity) => {
    const alice = await openRoomSocket("resume-bad", await roomToken("resume-bad", { sub: "alice" }));
    const joined = await alice.join("Alice");
    alice.close(3000, "blip");
    const other = await openRoomSocket("resume-bad", await roomToken("resume-bad", { sub: identity ?? "alice" }));
    other.send({ v: 1, type: "resume", participantId: joined.participantId, secret: secret ?? joined.resumeSecret });
    await other.error("resume-failed");
  });

  it("after the grace period the participant is gone: the others see it leave and resume fails", async () => {
    const token = await roomToken("expired", { sub: "alice" });
    const alice = await openRoomSocket("expired", token);
    const bob = await openRoomSocket("expired");
    const joined = await alice.join("Alice");
    await bob.join("Bob");
    alice.close(3000, "gone");
    expect((await bob.next("participant-left")).participantId).toBe(joined.participantId);
    const again = await openRoomSocket("expired", token);
    again.send({ v: 1, type: "resume", participantId: joined.participantId, secret: joined.resumeSecret });
    await again.error("resume-failed");
  });

  it("a resume on a second socket replaces a first one that is still open", async () => {
    const token = await roomToken("twice", { sub: "alice" });
    const first = await openRoomSocket("twice", token);
    const joined = await first.join("Alice");
    const second = await openRoomSocket("twice", token);
    second.send({ v: 1, type: "resume", participantId: joined.participantId, secret: joined.resumeSecret });
    expect((await second.next("joined")).resumed).toBe(true);
    expect((await first.closed).code).toBe(4002);
  });
});
