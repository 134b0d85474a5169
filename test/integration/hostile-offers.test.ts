import { CloseCode, SIGNAL_BURST } from "@sfu/shared";
import { RtpHeader, RtpPacket } from "werift";
import { afterAll, describe, expect, it } from "vitest";
import { useSystem, useWeriftPeers } from "../support/hooks.ts";
import { mLineBomb } from "../support/hostile-sdp.ts";
import { RoomClient } from "../support/room-client.ts";
import type { WeriftPeer } from "../support/werift-peer.ts";

// Replays of media-signaling attacks (issue 11) through the real worker and media node: the attacker
// gets a typed error, the node holds nothing for it, and everyone else's call and joins keep working.
const system = useSystem();
const peers = useWeriftPeers(system);

const attackers: RoomClient[] = [];
// Registered after the system's hooks, so it runs before the system stops (afterAll runs in reverse).
afterAll(() => {
  for (const c of attackers) c.close();
});
async function attacker(room: string): Promise<{ client: RoomClient; participantId: string }> {
  const client = await RoomClient.connect(system.url, room);
  attackers.push(client);
  return { client, participantId: (await client.join("Mallory")).participantId };
}

/** `from` sends `n` video packets; how many of them `to` received from it. */
async function delivered(from: WeriftPeer, to: WeriftPeer, n: number, firstSeq: number): Promise<number> {
  const before = to.received.filter((r) => r.participantId === from.participantId && r.kind === "video").length;
  for (let i = firstSeq; i < firstSeq + n; i++) {
    from.video.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: i, timestamp: i * 3000, marker: true, ssrc: 1 }), Buffer.from([0x10, i & 0xff, 1, 2, 3])));
    if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 500));
  return to.received.filter((r) => r.participantId === from.participantId && r.kind === "video").length - before;
}

/** Resolves with the close code once `client`'s socket has closed. */
async function closedCode(client: RoomClient): Promise<number> {
  if (!client.closed) await new Promise((resolve) => client.ws.once("close", resolve));
  return client.closed!.code;
}

const errors = (client: RoomClient) => client.received.flatMap((m) => (m.type === "error" ? [m] : []));

describe("hostile publish offers", () => {
  it("the m-line bomb (527 m-sections) gets too-many-tracks, the node holds no track for it, and a later joiner gets media", async () => {
    const room = `bomb-${Date.now()}`;
    const tracksBefore = await system.nodeMetric(0, "sfu_node_tracks");
    const mallory = await attacker(room);
    const refused = mallory.client.next("error", (m) => m.inReplyTo === "publish");
    mallory.client.send({ type: "publish", sdp: mLineBomb(527) });
    expect(await refused).toMatchObject({ code: "too-many-tracks", message: expect.stringMatching(/at most 8 media sections/) });
    expect(await system.nodeMetric(0, "sfu_node_tracks")).toBe(tracksBefore);

    const alice = await peers.join(room, "Alice");
    await alice.publish();
    const bob = await peers.join(room, "Bob");
    await bob.subscriberConnected();
    expect([...bob.subscribed.values()].map((t) => [t.participantId, t.kind]).sort()).toEqual([[alice.participantId, "audio"], [alice.participantId, "video"]]);
    expect(await system.nodeMetric(0, "sfu_node_tracks")).toBe(tracksBefore + 2);
    expect(await delivered(alice, bob, 100, 0)).toBeGreaterThanOrEqual(90);
    expect(errors(mallory.client).map((e) => e.code)).toEqual(["too-many-tracks"]);
  });
});

describe("hostile signaling floods", () => {
  it("3,000 ICE candidates in one burst: the socket's rate cuts the flooder off (policyViolation), the call keeps flowing and a newcomer gets media", async () => {
    const room = `candidates-${Date.now()}`;
    const alice = await peers.join(room, "Alice");
    await alice.publish();
    const bob = await peers.join(room, "Bob");
    await bob.subscriberConnected();
    expect(await delivered(alice, bob, 100, 0)).toBeGreaterThanOrEqual(90);

    const mallory = await attacker(room);
    for (let i = 0; i < 3000; i++) {
      mallory.client.send({
        type: "ice-candidate",
        target: "publisher",
        candidate: { candidate: `candidate:1 1 udp 2122260223 127.0.0.1 ${9 + (i % 60)} typ host`, sdpMid: "0", sdpMLineIndex: 0 },
      });
    }
    expect(await closedCode(mallory.client)).toBe(CloseCode.policyViolation);
    // What got through before the cut is within the socket's allowance; the rest was refused by rate.
    const refused = errors(mallory.client);
    expect(refused.length).toBeGreaterThan(0);
    // (A frame refused for rate is not parsed, so its error names no message it replies to.)
    expect(refused.filter((e) => e.code !== "rate-limited" && !(e.code === "too-many-candidates" && e.inReplyTo === "ice-candidate"))).toEqual([]);

    expect(await delivered(alice, bob, 100, 1000)).toBeGreaterThanOrEqual(90);
    const carol = await peers.join(room, "Carol");
    await carol.subscriberConnected();
    expect(await delivered(alice, carol, 100, 2000)).toBeGreaterThanOrEqual(90);
  });

  it("a subscriber's whole allowance of subscription-prefs at once: no error, and a later joiner joins and gets media", async () => {
    const room = `prefs-${Date.now()}`;
    const alice = await peers.join(room, "Alice");
    await alice.publish();
    const bob = await peers.join(room, "Bob");
    await bob.subscriberConnected();
    const video = [...bob.subscribed.values()].find((t) => t.kind === "video")!;
    // Bob's socket has spent a few messages on joining and connecting; stay inside what is left.
    for (let i = 0; i < SIGNAL_BURST / 2; i++) bob.client.send({ type: "subscription-prefs", tracks: [{ trackId: video.trackId, width: 160 + i * 10, height: 120 + i * 5 }] });

    const carol = await peers.join(room, "Carol");
    await carol.subscriberConnected();
    expect(await delivered(alice, carol, 100, 0)).toBeGreaterThanOrEqual(90);
    expect(errors(bob.client)).toEqual([]);
    expect(await delivered(alice, bob, 100, 1000)).toBeGreaterThanOrEqual(90);
  });

  it("2,000 subscription-prefs in one burst from a subscriber: it is cut off (policyViolation), and the publisher still reaches a newcomer", async () => {
    const room = `prefs-flood-${Date.now()}`;
    const alice = await peers.join(room, "Alice");
    await alice.publish();
    const bob = await peers.join(room, "Bob");
    await bob.subscriberConnected();
    const video = [...bob.subscribed.values()].find((t) => t.kind === "video")!;
    for (let i = 0; i < 2000; i++) bob.client.send({ type: "subscription-prefs", tracks: [{ trackId: video.trackId, width: 160 + (i % 480), height: 120 + (i % 360) }] });
    expect(await closedCode(bob.client)).toBe(CloseCode.policyViolation);

    const carol = await peers.join(room, "Carol");
    await carol.subscriberConnected();
    expect(await delivered(alice, carol, 100, 0)).toBeGreaterThanOrEqual(90);
  });
});
