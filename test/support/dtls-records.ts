/**
 * DTLS 1.2 records as an attacker or a peer would send them (RFC 6347 §4.1): plaintext ones built
 * byte by byte, sealed ones with the keys of a live werift session.
 */
import type { DtlsSocket } from "werift";

export const DTLS_1_2 = { major: 0xfe, minor: 0xfd };
export const ALERT = 21;
/** An alert's level (warning) and description (close_notify). */
export const CLOSE_NOTIFY = [1, 0] as const;

export function dtlsRecord(contentType: number, epoch: number, sequenceNumber: number, fragment: Uint8Array | readonly number[]): Buffer {
  const body = Buffer.from(fragment);
  const header = Buffer.alloc(13);
  header[0] = contentType;
  header[1] = DTLS_1_2.major;
  header[2] = DTLS_1_2.minor;
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(sequenceNumber, 5, 6);
  header.writeUInt16BE(body.length, 11);
  return Buffer.concat([header, body]);
}

/** A plaintext (epoch 0) warning close_notify: what werift 0.24.4 closes a session on, from anyone. */
export const plaintextCloseNotify = (sequenceNumber = 1) => dtlsRecord(ALERT, 0, sequenceNumber, CLOSE_NOTIFY);

interface SessionInternals {
  sessionType: number;
  dtls: { epoch: number; recordSequenceNumber: number };
  cipher: { cipher: { encrypt(sessionType: number, data: Buffer, header: { type: number; version: number; epoch: number; sequenceNumber: number }): Buffer } };
}

/**
 * A record sealed (AEAD) with the write keys of an established werift session, under its next
 * record sequence number: what that side of the session would send. werift itself sends no alerts.
 */
export function sealedRecord(session: DtlsSocket, contentType: number, fragment: Uint8Array | readonly number[]): Buffer {
  const s = session as unknown as SessionInternals;
  const sequenceNumber = ++s.dtls.recordSequenceNumber;
  const version = (DTLS_1_2.major << 8) | DTLS_1_2.minor;
  const sealed = s.cipher.cipher.encrypt(s.sessionType, Buffer.from(fragment), { type: contentType, version, epoch: s.dtls.epoch, sequenceNumber });
  return dtlsRecord(contentType, s.dtls.epoch, sequenceNumber, sealed);
}
