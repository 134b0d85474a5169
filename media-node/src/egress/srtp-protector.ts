import { createCipheriv, createHmac } from "node:crypto";

/** DTLS-SRTP protection profiles (RFC 5764, RFC 7714) the node's DTLS can negotiate. */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001;
export const SRTP_AEAD_AES_128_GCM = 0x0007;

export interface SrtpSessionKeys {
  profile: number;
  /** The session keys derived from the DTLS master key (RFC 3711 §4.3), not the master key itself. */
  sessionKey: Buffer;
  sessionSalt: Buffer;
  /** HMAC key; AES-CM only. */
  sessionAuthKey?: Buffer;
}

/**
 * SRTP protection of outgoing RTP, written for the forwarding hot path: one output buffer per packet,
 * the header written once by the caller and authenticated in place, no header object round trip.
 * node:crypto wants a new cipher per IV, so that allocation stays.
 */
export class SrtpProtector {
  private readonly iv: Buffer;
  private readonly roc = Buffer.alloc(4);
  readonly tagLength: number;

  constructor(private readonly keys: SrtpSessionKeys) {
    if (keys.profile !== SRTP_AEAD_AES_128_GCM && keys.profile !== SRTP_AES128_CM_HMAC_SHA1_80) throw new Error(`unsupported SRTP profile ${keys.profile}`);
    if (keys.profile === SRTP_AES128_CM_HMAC_SHA1_80 && !keys.sessionAuthKey) throw new Error("AES-CM needs an auth key");
    this.iv = Buffer.alloc(keys.profile === SRTP_AEAD_AES_128_GCM ? 12 : 16);
    this.tagLength = keys.profile === SRTP_AEAD_AES_128_GCM ? 16 : 10;
  }

  /**
   * Protects a packet whose clear header occupies `out[0, headerLength)`: the payload is encrypted
   * into `out` after the header and the tag appended. `out` must have room for the payload and tag.
   * Returns the packet's length.
   */
  protect(out: Buffer, headerLength: number, payload: Buffer, ssrc: number, rolloverCounter: number, sequenceNumber: number): number {
    const iv = this.iv;
    const salt = this.keys.sessionSalt;
    iv.fill(0);
    if (this.keys.profile === SRTP_AEAD_AES_128_GCM) {
      // RFC 7714 §8.1: 00 00 || SSRC || ROC || SEQ, XOR the 12-byte salt.
      iv.writeUInt32BE(ssrc >>> 0, 2);
      iv.writeUInt32BE(rolloverCounter >>> 0, 6);
      iv.writeUInt16BE(sequenceNumber, 10);
      for (let i = 0; i < 12; i++) iv[i] = iv[i]! ^ salt[i]!;
      const cipher = createCipheriv("aes-128-gcm", this.keys.sessionKey, iv);
      cipher.setAAD(out.subarray(0, headerLength));
      const enc = cipher.update(payload);
      enc.copy(out, headerLength);
      cipher.final();
      cipher.getAuthTag().copy(out, headerLength + enc.length);
      return headerLength + enc.length + 16;
    }
    // RFC 3711 §4.1.1: (salt << 16) XOR (SSRC << 64) XOR (index << 16), index = ROC || SEQ.
    iv.writeUInt32BE(ssrc >>> 0, 4);
    iv.writeUInt32BE(rolloverCounter >>> 0, 8);
    iv.writeUInt16BE(sequenceNumber, 12);
    for (let i = 0; i < 14; i++) iv[i] = iv[i]! ^ salt[i]!;
    const cipher = createCipheriv("aes-128-ctr", this.keys.sessionKey, iv);
    const enc = cipher.update(payload);
    enc.copy(out, headerLength);
    const end = headerLength + enc.length;
    this.roc.writeUInt32BE(rolloverCounter >>> 0, 0);
    const mac = createHmac("sha1", this.keys.sessionAuthKey!).update(out.subarray(0, end)).update(this.roc).digest();
    mac.copy(out, end, 0, 10);
    return end + 10;
  }
}

/**
 * The rollover counter for an outgoing sequence number (RFC 3711 §3.3.1), sender side: the index
 * only moves forward on a newer packet; an older one (a retransmission just across a wrap) keeps
 * the counter it was sent with.
 */
export class RolloverTracker {
  private highest: number | undefined;
  private roc = 0;

  next(sequenceNumber: number): number {
    if (this.highest === undefined) {
      this.highest = sequenceNumber;
      return this.roc;
    }
    const d = (sequenceNumber - this.highest) & 0xffff;
    if (d === 0) return this.roc;
    if (d < 0x8000) {
      if (sequenceNumber < this.highest) this.roc = (this.roc + 1) >>> 0;
      this.highest = sequenceNumber;
      return this.roc;
    }
    // Older than the highest: if it is numerically above, it came before the last wrap.
    return sequenceNumber > this.highest ? (this.roc - 1) >>> 0 : this.roc;
  }
}
