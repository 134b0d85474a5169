import { describe, expect, it } from "vitest";
import { isH264KeyframeStart, isKeyframeStart, isVp8KeyframeStart, vp8KeyframeSize } from "../../media-node/src/forwarding/keyframe.ts";

/** A VP8 keyframe's first bytes after the payload descriptor: frame tag (P = 0), start code, 14-bit sizes. */
function vp8KeyframeHeader(width: number, height: number): number[] {
  return [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8, 0x00, 0x00];
}
/** An interframe's frame tag: P = 1. */
const VP8_INTERFRAME = [0x31, 0x23, 0x00, 0xaa, 0xbb, 0xcc];

/** Chromium's usual descriptor: X = 1, S = 1, PID 0; I = 1 with a 15-bit PictureID, L = 1, T = 1. */
const chromeDescriptor = (start: boolean) => [start ? 0x90 : 0x80, 0xe0, 0x80 | 0x12, 0x34, 0x05, 0x20];

describe("VP8 keyframe detection", () => {
  it("finds the first packet of a keyframe behind Chromium's extended descriptor", () => {
    const pkt = Uint8Array.from([...chromeDescriptor(true), ...vp8KeyframeHeader(640, 480)]);
    expect(isVp8KeyframeStart(pkt)).toBe(true);
    expect(isKeyframeStart("video/VP8", pkt)).toBe(true);
    expect(vp8KeyframeSize(pkt)).toEqual({ width: 640, height: 480 });
  });

  it("reads the size with a 7-bit PictureID and no other extensions", () => {
    const pkt = Uint8Array.from([0x90, 0x80, 0x11, ...vp8KeyframeHeader(160, 120)]);
    expect(vp8KeyframeSize(pkt)).toEqual({ width: 160, height: 120 });
  });

  it("works with the minimal one-byte descriptor", () => {
    const pkt = Uint8Array.from([0x10, ...vp8KeyframeHeader(320, 240)]);
    expect(isVp8KeyframeStart(pkt)).toBe(true);
    expect(vp8KeyframeSize(pkt)).toEqual({ width: 320, height: 240 });
  });

  it("ignores the 2-bit scale in the size fields", () => {
    const header = vp8KeyframeHeader(640, 480);
    header[7]! |= 0x40;
    header[9]! |= 0xc0;
    expect(vp8KeyframeSize(Uint8Array.from([0x10, ...header]))).toEqual({ width: 640, height: 480 });
  });

  it("an interframe is not a keyframe", () => {
    const pkt = Uint8Array.from([...chromeDescriptor(true), ...VP8_INTERFRAME]);
    expect(isVp8KeyframeStart(pkt)).toBe(false);
    expect(vp8KeyframeSize(pkt)).toBeUndefined();
  });

  it("a continuation packet of a keyframe (S = 0) is not its start", () => {
    expect(isVp8KeyframeStart(Uint8Array.from([...chromeDescriptor(false), ...vp8KeyframeHeader(640, 480)]))).toBe(false);
  });

  it("a later partition (PID ≠ 0) is not a start, even with S = 1", () => {
    expect(isVp8KeyframeStart(Uint8Array.from([0x11, ...vp8KeyframeHeader(640, 480)]))).toBe(false);
  });

  it.each([
    ["empty", []],
    ["descriptor only", [0x90, 0xe0, 0x92, 0x34, 0x05, 0x20]],
    ["truncated extension", [0x90]],
    ["truncated PictureID", [0x90, 0x80]],
  ])("a truncated packet (%s) is not a keyframe and does not throw", (_name, bytes) => {
    expect(isVp8KeyframeStart(Uint8Array.from(bytes))).toBe(false);
    expect(vp8KeyframeSize(Uint8Array.from(bytes))).toBeUndefined();
  });

  it("a keyframe without the start code has no size", () => {
    const header = vp8KeyframeHeader(640, 480);
    header[3] = 0x00;
    const pkt = Uint8Array.from([0x10, ...header]);
    expect(isVp8KeyframeStart(pkt)).toBe(true);
    expect(vp8KeyframeSize(pkt)).toBeUndefined();
  });
});

// NAL header bytes: F = 0, NRI = 3, type.
const nal = (type: number) => 0x60 | type;
const SPS = [nal(7), 0x42, 0xe0, 0x1f, 0xda];
const PPS = [nal(8), 0xce, 0x3c, 0x80];

describe("H264 keyframe detection", () => {
  it("a single IDR NAL unit", () => {
    expect(isH264KeyframeStart(Uint8Array.from([nal(5), 0x88, 0x84, 0x00]))).toBe(true);
  });

  it("a STAP-A with SPS and PPS (what Chromium sends ahead of an IDR)", () => {
    const stap = [nal(24), 0x00, SPS.length, ...SPS, 0x00, PPS.length, ...PPS];
    expect(isH264KeyframeStart(Uint8Array.from(stap))).toBe(true);
    expect(isKeyframeStart("video/H264", Uint8Array.from(stap))).toBe(true);
  });

  it("a STAP-A whose second unit is an IDR slice", () => {
    const stap = [nal(24), 0x00, 0x02, nal(6), 0x05, 0x00, 0x03, nal(5), 0x88, 0x84];
    expect(isH264KeyframeStart(Uint8Array.from(stap))).toBe(true);
  });

  it("the start fragment of an FU-A carrying an IDR, but not its later fragments", () => {
    expect(isH264KeyframeStart(Uint8Array.from([nal(28), 0x80 | 5, 0x88, 0x84]))).toBe(true);
    expect(isH264KeyframeStart(Uint8Array.from([nal(28), 5, 0x11, 0x22]))).toBe(false);
    expect(isH264KeyframeStart(Uint8Array.from([nal(28), 0x40 | 5, 0x11, 0x22]))).toBe(false);
  });

  it.each([
    ["a non-IDR slice", [nal(1), 0x9a, 0x00]],
    ["an FU-A start of a non-IDR slice", [nal(28), 0x80 | 1, 0x9a]],
    ["a STAP-A of SEI and PPS", [nal(24), 0x00, 0x02, nal(6), 0x05, 0x00, PPS.length, ...PPS]],
    ["a STAP-A whose size runs past the end", [nal(24), 0x00, 0x30, nal(1), 0x00]],
    ["one byte", [nal(5)]],
    ["nothing", []],
  ])("not a keyframe: %s", (_name, bytes) => {
    expect(isH264KeyframeStart(Uint8Array.from(bytes))).toBe(false);
  });

  it("other codecs are never keyframes", () => {
    expect(isKeyframeStart("audio/opus", Uint8Array.from([0x10, ...vp8KeyframeHeader(1, 1)]))).toBe(false);
  });
});
