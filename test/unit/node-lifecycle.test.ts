import { RTCRtpCodecParameters, type RTCRtpReceiver } from "werift";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { OutStream } from "../../media-node/src/egress/rtp-egress.ts";
import { SequenceRewriter } from "../../media-node/src/forwarding/sequence-rewriter.ts";
import { ManualScheduler } from "../../media-node/src/manual-scheduler.ts";
import { MediaNode } from "../../media-node/src/media-node.ts";
import type { MediaNodeEvents } from "../../media-node/src/node-context.ts";
import { Downstream, Track } from "../../media-node/src/track.ts";

const NET = { announcedIp: "127.0.0.1", bindIp: "127.0.0.1", portRange: [49900, 49999] as [number, number] };

let scheduler: ManualScheduler;
let node: MediaNode;
let events: Array<[keyof MediaNodeEvents, unknown]>;

beforeEach(() => {
  scheduler = new ManualScheduler();
  node = new MediaNode(NET, scheduler);
  events = [];
  for (const name of ["participant-failed", "room-closed", "active-speaker", "layer-demand"] as const) node.events.on(name, (e) => events.push([name, e]));
});
afterEach(() => node.close());

/** A participant with both PeerConnections open, and spies on their close. */
function joined(room: string, id: string) {
  const p = node.openRoom(room).openParticipant(id);
  const publisher = p.openPublisher();
  const subscriber = p.openSubscriber();
  return { p, publisherClosed: vi.spyOn(publisher.pc, "close"), subscriberClosed: vi.spyOn(subscriber.pc, "close") };
}

describe("the media node's ownership tree", () => {
  it("creates nothing by reading: rooms, participants and PeerConnections exist only once opened", () => {
    expect(node.rooms.get("r")).toBeUndefined();
    expect(node.rooms.size).toBe(0);
    const p = node.openRoom("r").openParticipant("a");
    expect(p.publisher).toBeUndefined();
    expect(p.subscriber).toBeUndefined();
    expect(p.tracks).toEqual([]);
    expect(p.publisher).toBeUndefined();
    const publisher = p.openPublisher();
    expect(p.openPublisher()).toBe(publisher);
    expect(p.publisher).toBe(publisher);
    expect(p.subscriber).toBeUndefined();
    expect(node.openRoom("r").openParticipant("a")).toBe(p);
  });

  it("closing the node closes every room, participant and PeerConnection exactly once, and releases every timer", () => {
    const a = joined("r1", "a");
    const b = joined("r1", "b");
    const c = joined("r2", "c");
    expect(scheduler.pending).toBeGreaterThan(0);
    node.close();
    node.close();
    for (const x of [a, b, c]) {
      expect(x.publisherClosed).toHaveBeenCalledTimes(1);
      expect(x.subscriberClosed).toHaveBeenCalledTimes(1);
    }
    expect(node.rooms.size).toBe(0);
    expect(scheduler.pending).toBe(0);
    expect(events).toEqual([
      ["room-closed", { room: "r1" }],
      ["room-closed", { room: "r2" }],
    ]);
    expect(() => node.openRoom("r3")).toThrow();
  });

  it("removing a participant closes its PeerConnections once; the room closes with its last participant", () => {
    const a = joined("r", "a");
    joined("r", "b");
    node.removeParticipant("r", "a");
    node.removeParticipant("r", "a");
    expect(a.publisherClosed).toHaveBeenCalledTimes(1);
    expect(a.subscriberClosed).toHaveBeenCalledTimes(1);
    expect(() => a.p.openPublisher()).toThrow();
    expect(events).toEqual([]);
    node.removeParticipant("r", "b");
    expect(events).toEqual([["room-closed", { room: "r" }]]);
    // The room's ticker and both participants' report timers are gone.
    expect(scheduler.pending).toBe(0);
  });

  it("a failed connection frees the participant and is reported once", () => {
    const a = joined("r", "a");
    joined("r", "b");
    node.events.emit("connection-failed", { room: "r", participantId: "a" });
    // Its other PeerConnection failing too (or a late duplicate) is not a second failure.
    node.events.emit("connection-failed", { room: "r", participantId: "a" });
    expect(events).toEqual([["participant-failed", { room: "r", participantId: "a" }]]);
    expect(node.rooms.get("r")?.participants.has("a")).toBe(false);
    expect(a.publisherClosed).toHaveBeenCalledTimes(1);
  });

  it("a closed track closes its subscribers' copies and cancels its pending keyframe request", () => {
    const plis: number[] = [];
    const receiver = { sendRtcpPLI: async (ssrc: number) => void plis.push(ssrc) } as unknown as RTCRtpReceiver;
    const track = new Track("a:1", "video", "1", "a", new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, payloadType: 96 }), scheduler);
    track.attachSource(receiver, 1111);
    const stream = { send: () => {} } as unknown as OutStream;
    const d = new Downstream(track, stream, new SequenceRewriter(90000));
    track.addDownstream(d, scheduler.clock.now());
    track.layers.requestKeyframe("", scheduler.clock.now());
    // A second request inside the throttle interval waits for a timer.
    track.layers.requestKeyframe("", scheduler.clock.now() + 10);
    expect(track.subscriberCount).toBe(1);
    expect(scheduler.pending).toBe(1);
    track.close();
    track.close();
    expect(track.subscriberCount).toBe(0);
    expect(scheduler.pending).toBe(0);
    scheduler.advance(1000);
    expect(plis).toEqual([1111]);
  });
});
