import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_SKEW_MS, ReplayGuard, SIGNATURE_HEADER, signRequest, uniqueSigningTime, verifyRequest } from "@sfu/shared";

const SECRET = "unit-test-fleet-secret-0123456789";
const NOW = 1_760_000_000_000;
const METHOD = "POST";
const PATH = "/nodes/register";
const BODY = JSON.stringify({ nodeId: "n1", load: { rooms: 0, participants: 0, tracks: 0, cpu: 0 } });

describe("signRequest", () => {
  it("produces t=<now>,s=<64 lowercase hex>", async () => {
    const header = await signRequest(SECRET, METHOD, PATH, BODY, NOW);
    expect(header).toMatch(new RegExp(`^t=${NOW},s=[0-9a-f]{64}$`));
  });

  it("is deterministic and depends on every input", async () => {
    const base = await signRequest(SECRET, METHOD, PATH, BODY, NOW);
    expect(await signRequest(SECRET, METHOD, PATH, BODY, NOW)).toBe(base);
    const variants = await Promise.all([
      signRequest(`${SECRET}x`, METHOD, PATH, BODY, NOW),
      signRequest(SECRET, "DELETE", PATH, BODY, NOW),
      signRequest(SECRET, METHOD, "/nodes/heartbeat", BODY, NOW),
      signRequest(SECRET, METHOD, PATH, `${BODY} `, NOW),
    ]);
    for (const v of variants) expect(v.split(",s=")[1]).not.toBe(base.split(",s=")[1]);
    const later = await signRequest(SECRET, METHOD, PATH, BODY, NOW + 1);
    expect(later.split(",s=")[1]).not.toBe(base.split(",s=")[1]);
  });

  it("uses the documented header name", () => {
    expect(SIGNATURE_HEADER).toBe("x-sfu-signature");
    expect(DEFAULT_MAX_SKEW_MS).toBe(30_000);
  });
});

describe("verifyRequest", () => {
  it("accepts a good signature", async () => {
    const header = await signRequest(SECRET, METHOD, PATH, BODY, NOW);
    expect(await verifyRequest(SECRET, header, METHOD, PATH, BODY, NOW)).toEqual({ ok: true });
  });

  it("accepts an empty body and treats the method case-insensitively", async () => {
    const header = await signRequest(SECRET, "delete", "/rooms/r/participants/p", "", NOW);
    expect(await verifyRequest(SECRET, header, "DELETE", "/rooms/r/participants/p", "", NOW)).toEqual({ ok: true });
  });

  it.each([
    ["exactly 30 s old", -30_000],
    ["exactly 30 s ahead", 30_000],
    ["1 s old", -1_000],
  ])("accepts a signature %s", async (_name, offset) => {
    const header = await signRequest(SECRET, METHOD, PATH, BODY, NOW + offset);
    expect(await verifyRequest(SECRET, header, METHOD, PATH, BODY, NOW)).toEqual({ ok: true });
  });

  it("honours a custom maxSkewMs", async () => {
    const header = await signRequest(SECRET, METHOD, PATH, BODY, NOW - 5_000);
    expect(await verifyRequest(SECRET, header, METHOD, PATH, BODY, NOW, 4_999)).toEqual({ ok: false, reason: "signature expired" });
    expect(await verifyRequest(SECRET, header, METHOD, PATH, BODY, NOW, 5_000)).toEqual({ ok: true });
  });

  type Case = {
    name: string;
    /** Mutates what is verified, relative to a request correctly signed at NOW. */
    header?: (good: string) => string | null | undefined;
    secret?: string;
    method?: string;
    path?: string;
    body?: string;
    signedAt?: number;
    reason: string;
  };
  const cases: Case[] = [
    { name: "wrong secret", secret: "another-secret-entirely-0000", reason: "bad signature" },
    { name: "secret that is a prefix", secret: SECRET.slice(0, -1), reason: "bad signature" },
    { name: "tampered body", body: BODY.replace('"n1"', '"n2"'), reason: "bad signature" },
    { name: "body with trailing newline", body: `${BODY}\n`, reason: "bad signature" },
    { name: "empty body", body: "", reason: "bad signature" },
    { name: "tampered path", path: "/nodes/heartbeat", reason: "bad signature" },
    { name: "path with query", path: `${PATH}?x=1`, reason: "bad signature" },
    { name: "tampered method", method: "PUT", reason: "bad signature" },
    { name: "expired by 30.001 s", signedAt: NOW - 30_001, reason: "signature expired" },
    { name: "expired by an hour", signedAt: NOW - 3_600_000, reason: "signature expired" },
    { name: "from 30.001 s in the future", signedAt: NOW + 30_001, reason: "signature expired" },
    { name: "from a day in the future", signedAt: NOW + 86_400_000, reason: "signature expired" },
    { name: "timestamp changed in the header", header: (g) => g.replace(`t=${NOW}`, `t=${NOW - 1}`), reason: "bad signature" },
    { name: "one signature digit flipped", header: (g) => g.slice(0, -1) + (g.endsWith("0") ? "1" : "0"), reason: "bad signature" },
    { name: "missing header (null)", header: () => null, reason: "missing signature" },
    { name: "missing header (undefined)", header: () => undefined, reason: "missing signature" },
    { name: "empty header", header: () => "", reason: "missing signature" },
    { name: "garbage header", header: () => "hello", reason: "malformed signature" },
    { name: "fields swapped", header: (g) => { const [t, s] = g.split(","); return `${s},${t}`; }, reason: "malformed signature" },
    { name: "uppercase hex", header: (g) => g.replace(/s=([0-9a-f]+)/, (_m, h: string) => `s=${h.toUpperCase()}`), reason: "malformed signature" },
    { name: "short signature", header: (g) => g.slice(0, -2), reason: "malformed signature" },
    { name: "long signature", header: (g) => `${g}00`, reason: "malformed signature" },
    { name: "non-numeric timestamp", header: (g) => g.replace(/^t=\d+/, "t=abc"), reason: "malformed signature" },
    { name: "negative timestamp", header: (g) => g.replace(/^t=/, "t=-"), reason: "malformed signature" },
    { name: "spaces", header: (g) => g.replace(",", ", "), reason: "malformed signature" },
    { name: "trailing field", header: (g) => `${g},x=1`, reason: "malformed signature" },
    { name: "Bearer prefix", header: (g) => `Bearer ${g}`, reason: "malformed signature" },
    { name: "non-hex signature", header: (g) => g.replace(/s=[0-9a-f]{2}/, "s=zz"), reason: "malformed signature" },
  ];

  it.each(cases.map((c) => [c.name, c] as const))("refuses: %s", async (_name, c) => {
    const signedAt = c.signedAt ?? NOW;
    const good = await signRequest(SECRET, METHOD, PATH, BODY, signedAt);
    const header = c.header ? c.header(good) : good;
    const result = await verifyRequest(c.secret ?? SECRET, header, c.method ?? METHOD, c.path ?? PATH, c.body ?? BODY, NOW);
    expect(result).toEqual({ ok: false, reason: c.reason });
  });
});

describe("ReplayGuard", () => {
  it("accepts a signature once inside the window and refuses it again", () => {
    const guard = new ReplayGuard(30_000);
    expect(guard.firstUse("t=1,s=aa", 1000)).toBe(true);
    expect(guard.firstUse("t=1,s=aa", 1500)).toBe(false);
    expect(guard.firstUse("t=2,s=bb", 1500)).toBe(true);
  });

  it("forgets signatures long out of the window (their timestamps are refused anyway)", () => {
    const guard = new ReplayGuard(30_000);
    guard.firstUse("old", 0);
    expect(guard.firstUse("new", 70_000)).toBe(true);
    expect(guard.firstUse("old", 70_001)).toBe(true);
  });

  it("keeps at most maxEntries, dropping the oldest", () => {
    const guard = new ReplayGuard(30_000, 3);
    for (const sig of ["a", "b", "c", "d", "e"]) guard.firstUse(sig, 10);
    expect(guard.firstUse("e", 11)).toBe(false);
    expect(guard.firstUse("a", 11)).toBe(true);
  });
});

describe("uniqueSigningTime", () => {
  it("never repeats, even within one millisecond", () => {
    const times = Array.from({ length: 1000 }, () => uniqueSigningTime());
    expect(new Set(times).size).toBe(1000);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
  });
});
