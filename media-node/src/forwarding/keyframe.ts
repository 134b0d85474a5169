/**
 * Keyframe detection on RTP payloads (sans-IO, pure). A layer switch may happen only on the first
 * packet of a keyframe of the new layer; anything else would hand the decoder a frame that refers
 * to pictures it never saw.
 */

/** Where the VP8 payload (after the RFC 7741 payload descriptor) starts, or -1 if the descriptor is truncated. */
function vp8PayloadOffset(p: Uint8Array): number {
  if (p.length < 1) return -1;
  let i = 1;
  if (p[0]! & 0x80) {
    // X: extension byte with I (PictureID), L (TL0PICIDX), T (TID), K (KEYIDX)
    if (p.length < 2) return -1;
    const ext = p[1]!;
    i = 2;
    if (ext & 0x80) {
      if (i >= p.length) return -1;
      i += p[i]! & 0x80 ? 2 : 1; // M bit: 15-bit PictureID
    }
    if (ext & 0x40) i += 1;
    if (ext & 0x30) i += 1;
  }
  return i < p.length ? i : -1;
}

/**
 * True for the first packet of a VP8 keyframe: S = 1 and partition index 0 in the payload
 * descriptor, then P = 0 (inverse key-frame flag) in the VP8 payload header.
 */
export function isVp8KeyframeStart(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const start = (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x07) === 0;
  if (!start) return false;
  const i = vp8PayloadOffset(payload);
  return i >= 0 && (payload[i]! & 0x01) === 0;
}

/** The frame size a VP8 keyframe's first packet announces (RFC 6386 §9.1), or undefined. */
export function vp8KeyframeSize(payload: Uint8Array): { width: number; height: number } | undefined {
  if (!isVp8KeyframeStart(payload)) return undefined;
  const i = vp8PayloadOffset(payload);
  // 3-byte frame tag, then the start code 9d 01 2a, then 14-bit width and height (2-bit scale each).
  if (i < 0 || payload.length < i + 10) return undefined;
  if (payload[i + 3] !== 0x9d || payload[i + 4] !== 0x01 || payload[i + 5] !== 0x2a) return undefined;
  const width = (payload[i + 6]! | (payload[i + 7]! << 8)) & 0x3fff;
  const height = (payload[i + 8]! | (payload[i + 9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

const H264_IDR = 5;
const H264_SPS = 7;
const H264_STAP_A = 24;
const H264_FU_A = 28;

/**
 * True for a packet that starts an H264 keyframe (RFC 6184): an IDR slice (NAL type 5) or a
 * sequence parameter set (7, which precedes the IDR and is needed to decode it) as a single NAL
 * unit, inside a STAP-A aggregate, or as the start fragment of an FU-A.
 */
export function isH264KeyframeStart(payload: Uint8Array): boolean {
  if (payload.length < 2) return false;
  const type = payload[0]! & 0x1f;
  if (type === H264_IDR || type === H264_SPS) return true;
  if (type === H264_FU_A) return (payload[1]! & 0x80) !== 0 && ((payload[1]! & 0x1f) === H264_IDR);
  if (type === H264_STAP_A) {
    for (let i = 1; i + 2 < payload.length; ) {
      const size = (payload[i]! << 8) | payload[i + 1]!;
      const nal = payload[i + 2]! & 0x1f;
      if (nal === H264_IDR || nal === H264_SPS) return true;
      if (size === 0) return false;
      i += 2 + size;
    }
  }
  return false;
}

/** Keyframe start for a codec by MIME type ("video/VP8", "video/H264"); false for anything else. */
export function isKeyframeStart(mimeType: string, payload: Uint8Array): boolean {
  switch (mimeType.toLowerCase()) {
    case "video/vp8":
      return isVp8KeyframeStart(payload);
    case "video/h264":
      return isH264KeyframeStart(payload);
    default:
      return false;
  }
}
