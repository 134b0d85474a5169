import { randomBytes } from "node:crypto";
import { classes, Message, methods } from "werift";
import { describe, expect, it } from "vitest";
import { acceptFromStranger } from "../../media-node/src/stun-gate.ts";

// STUN messages are built by werift's own encoder, the same code a werift peer sends checks with.
const local = { ufrag: "nodeufrag", password: "node-ice-password-22chars" };

function check(opts: { username?: string; password?: string; integrity?: boolean; fingerprint?: boolean } = {}): Buffer {
  const m = new Message(methods.BINDING, classes.REQUEST);
  m.setAttribute("USERNAME", opts.username ?? `${local.ufrag}:peerufrag`).setAttribute("PRIORITY", 1853824767);
  m.setAttribute("ICE-CONTROLLED", BigInt(42));
  if (opts.integrity !== false) m.addMessageIntegrity(Buffer.from(opts.password ?? local.password, "utf8"));
  if (opts.fingerprint !== false) m.addFingerprint();
  return Buffer.from(m.bytes);
}

describe("acceptFromStranger", () => {
  it("lets through a binding request signed with our password and naming our ufrag, with or without FINGERPRINT", () => {
    expect(acceptFromStranger(check(), local)).toBe(true);
    expect(acceptFromStranger(check({ fingerprint: false }), local)).toBe(true);
  });

  it("drops checks signed with another password, for another ufrag, or without MESSAGE-INTEGRITY", () => {
    expect(acceptFromStranger(check({ password: "guessed" }), local)).toBe(false);
    expect(acceptFromStranger(check({ username: "otherufrag:peerufrag" }), local)).toBe(false);
    expect(acceptFromStranger(check({ username: local.ufrag }), local)).toBe(false);
    expect(acceptFromStranger(check({ integrity: false }), local)).toBe(false);
  });

  it("drops a signed check whose bytes were altered after signing", () => {
    const msg = check();
    msg[msg.length - 30]! ^= 0x01; // inside MESSAGE-INTEGRITY's HMAC
    expect(acceptFromStranger(msg, local)).toBe(false);
    const priority = check();
    priority[48]! ^= 0x80; // the PRIORITY value, which the HMAC covers
    expect(acceptFromStranger(priority, local)).toBe(false);
  });

  it("passes STUN responses (werift matches them to its transactions and checks their integrity) but not indications", () => {
    const response = new Message(methods.BINDING, classes.RESPONSE);
    response.setAttribute("XOR-MAPPED-ADDRESS", ["127.0.0.1", 5000]).addMessageIntegrity(Buffer.from("x")).addFingerprint();
    expect(acceptFromStranger(Buffer.from(response.bytes), local)).toBe(true);
    const indication = new Message(methods.BINDING, classes.INDICATION);
    expect(acceptFromStranger(Buffer.from(indication.bytes), local)).toBe(false);
  });

  it("drops what only looks like STUN: empty, short, no magic cookie, length that disagrees with the datagram", () => {
    const msg = check();
    expect(acceptFromStranger(Buffer.alloc(0), local)).toBe(false);
    expect(acceptFromStranger(msg.subarray(0, 19), local)).toBe(false);
    const noCookie = Buffer.from(msg);
    noCookie.writeUInt32BE(0x11111111, 4);
    expect(acceptFromStranger(noCookie, local)).toBe(false);
    expect(acceptFromStranger(Buffer.concat([msg, Buffer.alloc(4)]), local)).toBe(false);
    expect(acceptFromStranger(Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, ...Array(12).fill(1)]), local)).toBe(false);
  });

  it("drops DTLS, RTP and 10,000 random datagrams, including those whose first byte is in STUN's range", () => {
    expect(acceptFromStranger(Buffer.from([0x16, 0xfe, 0xfd, ...Array(30).fill(9)]), local)).toBe(false);
    expect(acceptFromStranger(Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, ...Array(40).fill(7)]), local)).toBe(false);
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const junk = randomBytes(20 + (i % 200));
      junk[0] = i % 4; // STUN's first-byte range (RFC 7983), the datagrams werift used to pass on as DTLS
      if (acceptFromStranger(junk, local)) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it("survives attributes that claim more bytes than the datagram holds", () => {
    const msg = check();
    msg.writeUInt16BE(0xfff0, 22); // the first attribute's length
    expect(acceptFromStranger(msg, local)).toBe(false);
  });
});
