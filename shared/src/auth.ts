/**
 * Request signing between the worker and media nodes (both directions) with the fleet secret:
 * header `x-sfu-signature: t=<unix ms>,s=<hex HMAC-SHA256(secret, t \n method \n path \n body)>`.
 * A request older or newer than `maxSkewMs` is refused, which bounds replay to that window.
 * Uses WebCrypto, so the same code runs in workerd, Node and browsers.
 */
export const SIGNATURE_HEADER = "x-sfu-signature";
export const DEFAULT_MAX_SKEW_MS = 30_000;

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function canonical(t: number, method: string, path: string, body: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(encoder.encode(`${t}\n${method.toUpperCase()}\n${path}\n${body}`));
}

export async function signRequest(secret: string, method: string, path: string, body: string, now: number): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(secret), canonical(now, method, path, body));
  return `t=${now},s=${toHex(sig)}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export async function verifyRequest(
  secret: string,
  header: string | null | undefined,
  method: string,
  path: string,
  body: string,
  now: number,
  maxSkewMs = DEFAULT_MAX_SKEW_MS,
): Promise<VerifyResult> {
  if (!header) return { ok: false, reason: "missing signature" };
  const match = /^t=(\d{1,16}),s=([0-9a-f]{64})$/.exec(header);
  if (!match) return { ok: false, reason: "malformed signature" };
  const t = Number(match[1]);
  if (Math.abs(now - t) > maxSkewMs) return { ok: false, reason: "signature expired" };
  const sig = fromHex(match[2]!);
  if (!sig) return { ok: false, reason: "malformed signature" };
  const valid = await crypto.subtle.verify("HMAC", await hmacKey(secret), sig, canonical(t, method, path, body));
  return valid ? { ok: true } : { ok: false, reason: "bad signature" };
}

/**
 * Remembers signatures seen inside the signing window, so a captured request cannot be replayed
 * while its timestamp is still fresh. Memory is bounded: entries leave once out of the window, and
 * past `maxEntries` the oldest go first (a flood then costs replay protection for the oldest, never
 * memory).
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs = DEFAULT_MAX_SKEW_MS,
    private readonly maxEntries = 100_000,
  ) {}

  /** True the first time a signature header is presented inside the window; false for a replay. */
  firstUse(signature: string, now: number): boolean {
    for (const [sig, at] of this.seen) {
      if (now - at <= 2 * this.windowMs && this.seen.size <= this.maxEntries) break;
      this.seen.delete(sig);
    }
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, now);
    return true;
  }
}

let lastSignedAt = 0;
/**
 * Date.now(), but strictly increasing within this process, for signing: two identical requests
 * signed in the same millisecond would otherwise carry the same signature and the second would be
 * refused as a replay.
 */
export function uniqueSigningTime(): number {
  lastSignedAt = Math.max(Date.now(), lastSignedAt + 1);
  return lastSignedAt;
}
