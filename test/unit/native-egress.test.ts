import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { RtpPacket } from "werift";
import { afterEach, describe, expect, it } from "vitest";
import { loadEgressPath, udpHandle, type NativeEgressAddon } from "../../media-node/src/egress/native-egress.ts";
import { RolloverTracker, SrtpProtector, SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 } from "../../media-node/src/egress/srtp-protector.ts";
import { srtpKeyPair } from "../support/srtp-keys.ts";

// The addon itself, whatever EGRESS says for the rest of the suite: both paths are under test here.
const path = loadEgressPath("native");
const addon = (path as { addon: NativeEgressAddon }).addon;

const PROFILES = [["AEAD_AES_128_GCM", SRTP_AEAD_AES_128_GCM], ["AES128_CM_HMAC_SHA1_80", SRTP_AES128_CM_HMAC_SHA1_80]] as const;
const SSRC = 0xdeadbeef;

/** Fresh session keys on both paths, and werift's session that must open what they protect. */
function keys(profile: number) {
  const { keys, receiver } = srtpKeyPair(profile);
  return { js: new SrtpProtector(keys), native: addon.createSender(profile, keys.sessionKey, keys.sessionSalt, keys.sessionAuthKey), receiver };
}

/** The TypeScript path's packet, written as RtpEgress writes it. */
function jsPacket(js: SrtpProtector, payload: Buffer, seq: number, timestamp: number, roc: number, ext: number, transportSeq: number): Buffer {
  const headerLength = ext ? 20 : 12;
  const out = Buffer.alloc(headerLength + payload.length + js.tagLength);
  out[0] = ext ? 0x90 : 0x80;
  out[1] = 0x80 | 96;
  out.writeUInt16BE(seq, 2);
  out.writeUInt32BE(timestamp, 4);
  out.writeUInt32BE(SSRC, 8);
  if (ext) out.set([0xbe, 0xde, 0, 1, (ext << 4) | 1, transportSeq >> 8, transportSeq & 0xff, 0], 12);
  js.protect(out, headerLength, payload, SSRC, roc, seq);
  return out;
}

const sockets: Socket[] = [];
async function udp(): Promise<Socket> {
  const s = createSocket("udp4");
  sockets.push(s);
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
  addon.flush();
});

describe("native egress addon", () => {
  for (const [name, profile] of PROFILES) {
    it(`writes ${name} packets byte for byte as the TypeScript path does, which werift opens, across a rollover`, () => {
      const { js, native, receiver } = keys(profile);
      const rollover = new RolloverTracker();
      // 65530 → 65535 → 0 → 9: the counter moves to 1 and both paths must carry it into the IV and tag.
      for (let i = 0; i < 16; i++) {
        const seq = (65530 + i) & 0xffff;
        const roc = rollover.next(seq);
        const payload = randomBytes(1 + i * 70);
        const ext = i % 2 === 0 ? 3 : 0;
        const transportSeq = (65533 + i) & 0xffff;
        const expected = jsPacket(js, payload, seq, 90_000 * i, roc, ext, transportSeq);
        const out = Buffer.alloc(expected.length);
        expect(addon.protect(native, payload, 0x80 | 96, seq, 90_000 * i, SSRC, roc, ext, transportSeq, out)).toBe(expected.length);
        expect(out.equals(expected)).toBe(true);
        const opened = RtpPacket.deSerialize(receiver.decrypt(out));
        expect(opened.header.sequenceNumber).toBe(seq);
        expect(opened.header.ssrc).toBe(SSRC);
        expect(opened.header.timestamp).toBe(90_000 * i);
        expect(opened.payload.equals(payload)).toBe(true);
        if (ext) expect(opened.header.extensions).toEqual([{ id: 3, payload: Buffer.from([transportSeq >> 8, transportSeq & 0xff]) }]);
      }
      expect(rollover.next(9)).toBe(1); // the wrap really happened
    });
  }

  it("sends queued packets on the given socket to the given peer, in order per socket, at flush", async () => {
    const { js, native } = keys(SRTP_AEAD_AES_128_GCM);
    const { native: other } = keys(SRTP_AES128_CM_HMAC_SHA1_80);
    const [from1, from2, to1, to2] = await Promise.all([udp(), udp(), udp(), udp()]);
    expect(addon.setPath(native, udpHandle(from1)!.fd, "127.0.0.1", to1.address().port)).toBe(true);
    expect(addon.setPath(other, udpHandle(from2)!.fd, "127.0.0.1", to2.address().port)).toBe(true);
    const got1: Buffer[] = [];
    const got2: Array<{ port: number }> = [];
    to1.on("message", (m, rinfo) => {
      got1.push(m);
      expect(rinfo.port).toBe(from1.address().port);
    });
    to2.on("message", (_m, rinfo) => got2.push({ port: rinfo.port }));
    const payloads = [randomBytes(1100), randomBytes(80), randomBytes(500)];
    // Interleaved as a fan-out queues them: one socket's packets must still leave in their order.
    payloads.forEach((p, i) => {
      expect(addon.send(native, p, 0x80 | 96, 100 + i, 5, SSRC, 0, 0, 0)).toBe(12 + p.length + 16);
      expect(addon.send(other, p, 0x80 | 96, 100 + i, 5, SSRC, 0, 0, 0)).toBe(12 + p.length + 10);
    });
    expect(addon.pending()).toBe(6);
    const before = addon.stats();
    expect(addon.flush()).toBe(6);
    expect(addon.pending()).toBe(0);
    const after = addon.stats();
    expect(after.sent - before.sent).toBe(6);
    expect(after.syscalls - before.syscalls).toBe(2); // one sendmmsg per socket
    await expect.poll(() => got1.length + got2.length).toBe(6);
    expect(got1).toEqual(payloads.map((p, i) => jsPacket(js, p, 100 + i, 5, 0, 0, 0)));
    expect(got2.every((r) => r.port === from2.address().port)).toBe(true);
  });

  it("refuses what it cannot send: no path, a host name, a non-UDP descriptor, an oversized payload, bad keys", async () => {
    const { native } = keys(SRTP_AEAD_AES_128_GCM);
    expect(addon.send(native, Buffer.alloc(10), 96, 1, 1, SSRC, 0, 0, 0)).toBe(0);
    const s = await udp();
    expect(addon.setPath(native, udpHandle(s)!.fd, "localhost", 9)).toBe(false);
    expect(addon.setPath(native, 0, "127.0.0.1", 9)).toBe(false); // stdin is not a UDP socket
    expect(addon.setPath(native, udpHandle(s)!.fd, "::1", 9)).toBe(true);
    expect(addon.send(native, Buffer.alloc(4000), 96, 1, 1, SSRC, 0, 0, 0)).toBe(-1);
    expect(addon.pending()).toBe(0);
    expect(() => addon.send(native, Buffer.alloc(10), 300, 1, 1, SSRC, 0, 0, 0)).toThrow(TypeError);
    expect(() => addon.createSender(SRTP_AEAD_AES_128_GCM, Buffer.alloc(15), Buffer.alloc(12))).toThrow(/16 bytes/);
    expect(() => addon.createSender(SRTP_AES128_CM_HMAC_SHA1_80, Buffer.alloc(16), Buffer.alloc(14))).toThrow(/auth key/);
    expect(() => addon.createSender(2, Buffer.alloc(16), Buffer.alloc(14))).toThrow(/unsupported/);
    addon.closeSender(native);
    expect(() => addon.send(native, Buffer.alloc(10), 96, 1, 1, SSRC, 0, 0, 0)).toThrow(TypeError);
  });

  it("sees a socket's handle close at once, before its descriptor can be reused", async () => {
    const s = await udp();
    const handle = udpHandle(s)!;
    expect(handle.open()).toBe(true);
    s.close();
    sockets.splice(sockets.indexOf(s), 1);
    expect(handle.open()).toBe(false);
  });
});

