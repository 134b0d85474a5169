/**
 * What a media socket accepts from an address ICE has not verified: only STUN that werift can
 * authenticate. RFC 8445 §7.3: a check is answered only when its MESSAGE-INTEGRITY verifies with
 * our password and its USERNAME names our fragment; werift answers any binding request and treats
 * any datagram that fails to parse as STUN as DTLS/SRTP, so both are settled here first.
 * Pure: bytes in, verdict out.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const HEADER_BYTES = 20;
const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const USERNAME = 0x0006;
const MESSAGE_INTEGRITY = 0x0008;
const INTEGRITY_BYTES = 20;

/** STUN message classes (RFC 5389 §6), from the type field's C1/C0 bits. */
const REQUEST = 0;
const SUCCESS_RESPONSE = 2;
const ERROR_RESPONSE = 3;

export interface LocalIceCredentials {
  ufrag: string;
  password: string;
}

/**
 * True if a datagram from an unverified address may reach werift: a well-formed STUN response (werift
 * matches it to its own transaction and checks its integrity), or a binding request for us whose
 * MESSAGE-INTEGRITY verifies. Everything else from strangers (DTLS, RTP, garbage, empty datagrams,
 * unauthenticated or foreign checks, indications) is dropped.
 */
export function acceptFromStranger(data: Uint8Array, local: LocalIceCredentials): boolean {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!isStunFrame(buf)) return false;
  const type = buf.readUInt16BE(0);
  const cls = ((type >> 7) & 0b10) | ((type >> 4) & 0b1);
  if (cls === SUCCESS_RESPONSE || cls === ERROR_RESPONSE) return true;
  if (cls !== REQUEST || type !== BINDING_REQUEST) return false;
  return isAuthenticCheck(buf, local);
}

/** Header well-formed (RFC 5389 §6): top bits zero, magic cookie, length that fits the datagram. */
function isStunFrame(buf: Buffer): boolean {
  if (buf.length < HEADER_BYTES || (buf[0]! & 0xc0) !== 0) return false;
  const length = buf.readUInt16BE(2);
  return length % 4 === 0 && HEADER_BYTES + length === buf.length && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

function isAuthenticCheck(buf: Buffer, local: LocalIceCredentials): boolean {
  let username: string | undefined;
  for (let at = HEADER_BYTES; at + 4 <= buf.length; ) {
    const type = buf.readUInt16BE(at);
    const length = buf.readUInt16BE(at + 2);
    const value = at + 4;
    if (value + length > buf.length) return false;
    if (type === USERNAME) username = buf.toString("utf8", value, value + length);
    if (type === MESSAGE_INTEGRITY) {
      // RFC 8445 §7.2.2: USERNAME is "<our ufrag>:<their ufrag>".
      if (length !== INTEGRITY_BYTES || !username?.startsWith(`${local.ufrag}:`)) return false;
      return integrityMatches(buf, at, buf.subarray(value, value + length), local.password);
    }
    at = value + length + ((4 - (length % 4)) % 4);
  }
  return false;
}

/** RFC 5389 §15.4: HMAC-SHA1 over the message up to the attribute, its length covering the attribute. */
function integrityMatches(buf: Buffer, attributeAt: number, got: Buffer, password: string): boolean {
  const signed = Buffer.from(buf.subarray(0, attributeAt));
  signed.writeUInt16BE(attributeAt - HEADER_BYTES + 4 + INTEGRITY_BYTES, 2);
  const want = createHmac("sha1", password).update(signed).digest();
  return timingSafeEqual(want, got);
}
