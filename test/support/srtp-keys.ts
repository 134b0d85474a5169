import { randomBytes } from "node:crypto";
import { SrtpSession } from "werift";
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80, type SrtpSessionKeys } from "../../media-node/src/egress/srtp-protector.ts";

/**
 * Random DTLS-SRTP master keys for `profile` as werift turns them into session keys: the sending
 * side's session keys (what the node's egress protects with) and a werift session that must open
 * what they protect.
 */
export function srtpKeyPair(profile: number): { keys: SrtpSessionKeys; receiver: SrtpSession } {
  const saltLength = profile === SRTP_AEAD_AES_128_GCM ? 12 : 14;
  const a = { key: randomBytes(16), salt: randomBytes(saltLength) };
  const b = { key: randomBytes(16), salt: randomBytes(saltLength) };
  const sender = new SrtpSession({ keys: { localMasterKey: a.key, localMasterSalt: a.salt, remoteMasterKey: b.key, remoteMasterSalt: b.salt }, profile: profile as 1 });
  const receiver = new SrtpSession({ keys: { localMasterKey: b.key, localMasterSalt: b.salt, remoteMasterKey: a.key, remoteMasterSalt: a.salt }, profile: profile as 1 });
  const ctx = sender.localContext as unknown as { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag: Buffer };
  const sessionAuthKey = profile === SRTP_AES128_CM_HMAC_SHA1_80 ? ctx.srtpSessionAuthTag : undefined;
  return { keys: { profile, sessionKey: ctx.srtpSessionKey, sessionSalt: ctx.srtpSessionSalt, sessionAuthKey }, receiver };
}
