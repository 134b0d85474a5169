import { RTCRtpCodecParameters, RtpHeader, RtpPacket, type RTCRtpReceiver } from "werift";
import type { OutStream } from "../../media-node/src/egress/rtp-egress.ts";
import { beforeEach, describe, expect, it } from "vitest";
import { ManualClock, ManualScheduler } from "../../media-node/src/manual-scheduler.ts";
import { SequenceRewriter } from "../../media-node/src/forwarding/sequence-rewriter.ts";
import { applyPreferences, DYNACAST_HOLD_MS, shareBudget } from "../../media-node/src/layers.ts";
import { Downstream, Track } from "../../media-node/src/track.ts";

const SSRC = { q: 1111, h: 2222, f: 3333 } as const;
const SIZE = { q: [160, 120], h: [320, 240], f: [640, 480] } as const;
type Rid = keyof typeof SSRC;

/** A VP8 packet of layer `rid`: a keyframe start (with its size) or an interframe. */
function vp8(rid: Rid, seq: number, keyframe: boolean): RtpPacket {
  const [w, h] = SIZE[rid];
  const payload = keyframe
    ? [0x90, 0x80, 0x01, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8, 0, 0]
    : [0x90, 0x80, 0x01, 0x31, 0x23, 0x00, 0xaa, 0xbb];
  const header = new RtpHeader({ ssrc: SSRC[rid], sequenceNumber: seq & 0xffff, timestamp: (seq * 3000) >>> 0, payloadType: 96, marker: true });
  // The last byte names the layer, so that what reaches the subscriber can be told apart.
  return new RtpPacket(header, Buffer.from([...payload, rid.charCodeAt(0)]));
}

interface Sent {
  ssrc: number;
  seq: number;
  ts: number;
  key: boolean;
}

/** The subscriber's outgoing stream, recording what it is asked to send (by source layer). */
function fakeStream(sent: Sent[]): OutStream {
  return {
    sender: { onPictureLossIndication: { subscribe: () => ({ unSubscribe: () => {} }) } },
    send: (payload: Buffer, _marker: boolean, seq: number, ts: number) => {
      const rid = String.fromCharCode(payload[payload.length - 1]!) as Rid;
      sent.push({ ssrc: SSRC[rid], seq, ts, key: (payload[3]! & 1) === 0 });
    },
  } as unknown as OutStream;
}

function setup() {
  const plis: number[] = [];
  const receiver = { sendRtcpPLI: async (ssrc: number) => void plis.push(ssrc) } as unknown as RTCRtpReceiver;
  const track = new Track("pub:1", "video", "1", "pub", new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, payloadType: 96 }), scheduler);
  for (const rid of ["q", "h", "f"] as const) {
    track.layers.declare(rid);
    track.attachSource(receiver, SSRC[rid], rid);
  }
  const sent: Sent[] = [];
  const d = new Downstream(track, fakeStream(sent), new SequenceRewriter(90000, 100, 5000));
  track.addDownstream(d, now());
  const seq = { q: 0, h: 0, f: 0 };
  /** One packet of each layer, as they interleave on the wire; `key` layers send a keyframe start. */
  const round = (key: Rid[] = []) => {
    for (const rid of ["q", "h", "f"] as const) track.forward(vp8(rid, ++seq[rid] + (rid === "q" ? 0 : rid === "h" ? 20_000 : 40_000), key.includes(rid)), rid, now());
    scheduler.advance(33);
  };
  return { track, d, sent, plis, round };
}

let scheduler: ManualScheduler;
const now = () => scheduler.clock.now();

beforeEach(() => {
  scheduler = new ManualScheduler(new ManualClock(1_000_000));
});

const ridOf = (ssrc: number) => (Object.entries(SSRC).find(([, s]) => s === ssrc)?.[0] ?? "?") as Rid;

describe("Track with simulcast layers and a Downstream", () => {
  it("switches layer only at a keyframe of the new layer, then sends nothing of the old one, with continuous sequence numbers", () => {
    const { d, sent, plis, round } = setup();
    // At the start the layers arrive one after the other, each taken at its keyframe as it appears.
    round(["q", "h", "f"]);
    for (let i = 0; i < 5; i++) round();
    // No tile reported yet: the best layer.
    expect(d.layers.current).toBe("f");
    const beforeSwitch = sent.length;
    expect(sent.slice(-5).every((p) => ridOf(p.ssrc) === "f")).toBe(true);

    // The subscriber's tile is 160×120: it should move to q, and q is asked for a keyframe.
    plis.length = 0;
    applyPreferences(new Map([["pub:1", d]]), [{ trackId: "pub:1", width: 160, height: 120 }]);
    shareBudget([d], Infinity, now());
    expect(d.layers.target).toBe("q");
    scheduler.advance(500); // the per-layer throttle (q was asked for at start)
    expect(plis).toEqual([SSRC.q]);

    // Until q's keyframe, f keeps flowing (no freeze) and no q packet goes out.
    for (let i = 0; i < 5; i++) round();
    expect(sent.slice(beforeSwitch).every((p) => ridOf(p.ssrc) === "f")).toBe(true);
    expect(sent.length).toBe(beforeSwitch + 5);

    // Keyframes of h and f do not matter; q's does.
    round(["h", "f"]);
    const switchAt = sent.length;
    round(["q"]);
    for (let i = 0; i < 10; i++) round(i === 3 ? ["f"] : []);

    const after = sent.slice(switchAt);
    // The first packet of q is its keyframe.
    expect(sent.slice(0, switchAt).some((p) => ridOf(p.ssrc) === "q" && p.seq > sent[beforeSwitch]!.seq)).toBe(false);
    const firstQ = after.findIndex((p) => ridOf(p.ssrc) === "q");
    expect(after[firstQ]!.key).toBe(true);
    // After the switch: only q, never f again.
    expect(after.slice(firstQ).every((p) => ridOf(p.ssrc) === "q")).toBe(true);
    expect(after.slice(firstQ)).toHaveLength(11);
    // One continuous stream for the subscriber.
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.seq).toBe((sent[i - 1]!.seq + 1) & 0xffff);
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.ts).toBeGreaterThan(sent[i - 1]!.ts);
  });

  it("a hidden tile stops the flow at once; shown again it resumes at a keyframe without a sequence gap", () => {
    const { track, d, sent, plis, round } = setup();
    const prefs = (w: number, h: number) => {
      applyPreferences(new Map([["pub:1", d]]), [{ trackId: "pub:1", width: w, height: h }]);
      track.reselect(d, now());
    };
    prefs(320, 240);
    round(["q", "h", "f"]);
    for (let i = 0; i < 3; i++) round();
    expect(d.layers.current).toBe("h");
    const shown = sent.length;
    prefs(0, 0);
    for (let i = 0; i < 5; i++) round(i === 2 ? ["h"] : []);
    expect(sent.length).toBe(shown);

    plis.length = 0;
    prefs(320, 240);
    // Asked for at once, or (inside the per-layer throttle interval) as soon as it allows.
    scheduler.advance(500);
    expect(plis).toEqual([SSRC.h]);
    round();
    expect(sent.length).toBe(shown);
    round(["h"]);
    round();
    expect(sent.length).toBe(shown + 2);
    expect(sent[shown]!.key).toBe(true);
    expect(sent[shown]!.seq).toBe((sent[shown - 1]!.seq + 1) & 0xffff);
  });

  it("a lower budget moves the subscriber down; a higher one back up", () => {
    const { d, round } = setup();
    // Over a second: a layer's rate is known once a whole meter window of it has arrived.
    for (let i = 0; i < 40; i++) round(i === 0 ? ["q", "h", "f"] : []);
    expect(d.layers.current).toBe("f");
    // Each layer measures the same here (same packet sizes): a budget below that forces the lowest.
    shareBudget([d], 1_000, now());
    expect(d.layers.target).toBe("q");
    round(["q"]);
    expect(d.layers.current).toBe("q");
    shareBudget([d], Infinity, now());
    expect(d.layers.target).toBe("f");
  });

  it("dynacast: a layer nobody needs is reported once the hold time has passed, and wanted again at once", () => {
    const { track, d, round } = setup();
    applyPreferences(new Map([["pub:1", d]]), [{ trackId: "pub:1", width: 160, height: 120 }]);
    track.reselect(d, now());
    const reports: string[][] = [];
    const tick = () => {
      const r = track.tick(now());
      if (r) reports.push(r);
    };
    for (let t = 0; t < DYNACAST_HOLD_MS + 1000; t += 300) {
      for (let i = 0; i < 9; i++) round(t === 0 && i === 0 ? ["q", "h", "f"] : []);
      tick();
    }
    expect(reports).toEqual([["q"]]);
    applyPreferences(new Map([["pub:1", d]]), [{ trackId: "pub:1", width: 640, height: 480 }]);
    track.reselect(d, now());
    tick();
    expect(reports).toEqual([["q"], ["q", "f"]]);
  });
});
