/**
 * Which DTLS records of a datagram from a verified peer address may reach werift (RFC 6347 §4.1).
 * werift 0.24.4 trusts its record layer: a plaintext warning alert, or a record of any content type
 * it does not know (heartbeat included), closes the session; a plaintext ClientHello makes its server
 * start the handshake over; an alert is read as plaintext, without authentication, whenever its
 * first two (encrypted) bytes happen to name a known alert; a record cut short makes its parser
 * throw. The peer's address is easy to spoof, so once the handshake is done only what the peer can
 * send then gets through: records of the four DTLS 1.2 content types in the current epoch, alerts
 * only if they authenticate. Records that fail authentication of the other types need nothing here:
 * werift's AEAD decryption throws and it drops them (the unit tests hold it to that).
 *
 * The one legitimate plaintext record after the handshake: when our last flight was lost, the peer
 * retransmits its final flight, which carries epoch-0 records (Certificate, ClientKeyExchange,
 * CertificateVerify, ChangeCipherSpec) and its Finished in epoch 1. They are dropped too, because
 * werift needs only the Finished: its server ignores the epoch-0 messages once connected and answers
 * the retransmitted Finished by sending its last flight again (also covered by a unit test), and its
 * client receives nothing it needs after its own Finished. Nothing plaintext is let through after
 * the handshake, so there is no window an attacker could use.
 *
 * Pure: bytes and a view of the session in, the bytes werift may see out.
 */

export const RECORD_HEADER_BYTES = 13;

/** DTLS 1.2 content types (RFC 6347 §4.1; 24, heartbeat, is never negotiated here). */
export const ContentType = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

export interface DtlsRecord {
  contentType: number;
  version: { major: number; minor: number };
  epoch: number;
  sequenceNumber: number;
  /** The record's payload (ciphertext once the epoch is above 0). */
  fragment: Buffer;
  /** The whole record, header included. */
  bytes: Buffer;
}

/** What the guard needs to know of the DTLS session behind a socket, read at the I/O edge. */
export type DtlsSessionView =
  | { established: false }
  | { established: true; epoch: number; open: (record: DtlsRecord) => Buffer | undefined };

/** RFC 7983: a datagram whose first byte is 20..63 is DTLS. */
export function isDtlsDatagram(data: Uint8Array): boolean {
  return data.length > 0 && data[0]! >= 20 && data[0]! <= 63;
}

/** The records of a datagram, in order, up to the first one that does not fit. */
export function parseDtlsRecords(data: Buffer): DtlsRecord[] {
  const records: DtlsRecord[] = [];
  for (let at = 0; at + RECORD_HEADER_BYTES <= data.length; ) {
    const length = data.readUInt16BE(at + 11);
    const end = at + RECORD_HEADER_BYTES + length;
    if (end > data.length) break;
    records.push({
      contentType: data[at]!,
      version: { major: data[at + 1]!, minor: data[at + 2]! },
      epoch: data.readUInt16BE(at + 3),
      sequenceNumber: data.readUIntBE(at + 5, 6),
      fragment: data.subarray(at + RECORD_HEADER_BYTES, end),
      bytes: data.subarray(at, end),
    });
    at = end;
  }
  return records;
}

/**
 * The part of a DTLS datagram werift may see: the datagram itself when every record in it passes,
 * only the records that pass otherwise, or undefined when none does. Before the handshake is done
 * every whole record passes (the handshake is plaintext); bytes that do not make a whole record
 * never do.
 */
export function screenDtlsDatagram(data: Buffer, session: DtlsSessionView): Buffer | undefined {
  const records = parseDtlsRecords(data);
  const kept = records.filter((record) => !session.established || acceptEstablished(record, session));
  if (kept.length === 0) return undefined;
  const keptBytes = kept.reduce((sum, r) => sum + r.bytes.length, 0);
  if (keptBytes === data.length) return data;
  return Buffer.concat(kept.map((r) => r.bytes));
}

function acceptEstablished(record: DtlsRecord, session: Extract<DtlsSessionView, { established: true }>): boolean {
  if (record.epoch !== session.epoch) return false;
  if (record.contentType < ContentType.changeCipherSpec || record.contentType > ContentType.applicationData) return false;
  return record.contentType !== ContentType.alert || session.open(record) !== undefined;
}

const FATAL = 2;

/**
 * True if a screened datagram carries an authenticated fatal alert: the peer has ended the session
 * (RFC 5246 §7.2.2). werift 0.24.4 ignores fatal alerts (it closes only on warnings), so the caller
 * ends the session itself.
 */
export function carriesFatalAlert(data: Buffer, session: DtlsSessionView): boolean {
  if (!session.established) return false;
  return parseDtlsRecords(data).some((r) => r.contentType === ContentType.alert && r.epoch === session.epoch && session.open(r)?.[0] === FATAL);
}
