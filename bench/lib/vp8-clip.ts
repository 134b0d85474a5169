/**
 * A real VP8 stream for the load generator: a 10 s `testsrc2` clip (640×480, 30 fps, ~1.5 Mbps,
 * keyframe every 2 s; light temporal noise so libvpx reaches the target bitrate) encoded once with
 * ffmpeg into node_modules/.cache, then read from its IVF container. Encoding live would cost the
 * generator about a quarter of a core.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/system.ts";
import { ensureDebianPackage } from "./apt.ts";

export const CLIP_FPS = 30;

export interface Vp8Frame {
  data: Buffer;
  keyframe: boolean;
}

/** The clip at `kbps` and `width`×`height` (smaller sizes are the lower layers of the simulcast publisher). */
export function loadClip(kbps = 1500, width = 640, height = 480): Vp8Frame[] {
  const dir = join(ROOT, "node_modules/.cache/edge-sfu-bench");
  const file = join(dir, `testsrc2-${width}x${height}-${CLIP_FPS}fps-${kbps}k.ivf`);
  if (!existsSync(file)) {
    ensureDebianPackage("ffmpeg", "ffmpeg");
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.tmp.ivf`;
    const rate = `${kbps}k`;
    execFileSync("ffmpeg", [
      "-hide_banner", "-loglevel", "error", "-y",
      "-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${CLIP_FPS}`, "-vf", "noise=alls=10:allf=t", "-t", "10",
      "-c:v", "libvpx", "-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", rate,
      "-deadline", "realtime", "-cpu-used", "8", "-g", "60", "-keyint_min", "60", "-auto-alt-ref", "0", "-lag-in-frames", "0",
      "-f", "ivf", tmp,
    ], { stdio: "inherit" });
    renameSync(tmp, file);
  }
  return parseIvf(readFileSync(file));
}

/** IVF: a 32-byte file header (length at byte 6), then per frame a 12-byte header (LE size, pts) and the frame. */
export function parseIvf(buf: Buffer): Vp8Frame[] {
  if (buf.toString("ascii", 0, 4) !== "DKIF") throw new Error("not an IVF file");
  const frames: Vp8Frame[] = [];
  let at = buf.readUInt16LE(6);
  while (at + 12 <= buf.length) {
    const size = buf.readUInt32LE(at);
    const data = buf.subarray(at + 12, at + 12 + size);
    frames.push({ data, keyframe: (data[0]! & 0x01) === 0 });
    at += 12 + size;
  }
  return frames;
}
