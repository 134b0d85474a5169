import { randomBytes } from "node:crypto";
import { CipherContext, DtlsClient, DtlsServer, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm, type DtlsSocket } from "werift";
import { describe, expect, it } from "vitest";
import { carriesFatalAlert, ContentType, isDtlsDatagram, parseDtlsRecords, screenDtlsDatagram, type DtlsSessionView } from "../../media-node/src/dtls-guard.ts";
import { dtlsSessionView } from "../../media-node/src/webrtc.ts";
import { ALERT, CLOSE_NOTIFY, dtlsRecord, plaintextCloseNotify, sealedRecord } from "../support/dtls-records.ts";

const HEARTBEAT = 24;
/** An established session whose `open` takes a fragment as authentic, and its plaintext as the fragment itself, when `authentic` says so. */
const established = (authentic: (fragment: Buffer) => boolean = () => true): DtlsSessionView => ({ established: true, epoch: 1, open: (r) => (authentic(r.fragment) ? r.fragment : undefined) });
/** A handshake message header (RFC 6347 §4.2.2) for a ClientHello with an empty body. */
const EMPTY_CLIENT_HELLO = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

describe("screenDtlsDatagram (pure)", () => {
  it("before the handshake lets every whole record through, the datagram itself when nothing is cut", () => {
    const flight = Buffer.concat([dtlsRecord(ContentType.handshake, 0, 0, EMPTY_CLIENT_HELLO), plaintextCloseNotify(1)]);
    expect(screenDtlsDatagram(flight, { established: false })).toBe(flight);
  });

  it("never lets through bytes that do not make a whole record (werift's parser throws on them)", () => {
    const whole = dtlsRecord(ContentType.handshake, 0, 0, EMPTY_CLIENT_HELLO);
    expect(screenDtlsDatagram(Buffer.from([22, 0xfe, 0xfd, 0, 0]), { established: false })).toBeUndefined();
    expect(screenDtlsDatagram(Buffer.concat([whole, Buffer.from([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 40, 7])]), { established: false })).toEqual(whole);
    expect(screenDtlsDatagram(Buffer.concat([whole, whole.subarray(0, 12)]), established())).toBeUndefined();
  });

  it("after the handshake drops every plaintext (epoch 0) record: alert, handshake, change_cipher_spec, application data", () => {
    for (const type of [ContentType.alert, ContentType.handshake, ContentType.changeCipherSpec, ContentType.applicationData]) {
      expect(screenDtlsDatagram(dtlsRecord(type, 0, 5, type === ContentType.alert ? CLOSE_NOTIFY : [1, 2, 3]), established()), `type ${type}`).toBeUndefined();
    }
  });

  it("after the handshake drops records of unknown content types, heartbeat included, and of any other epoch", () => {
    for (const type of [HEARTBEAT, 25, 40, 63]) expect(screenDtlsDatagram(dtlsRecord(type, 1, 5, randomBytes(40)), established()), `type ${type}`).toBeUndefined();
    expect(screenDtlsDatagram(dtlsRecord(ContentType.applicationData, 2, 5, randomBytes(40)), established())).toBeUndefined();
    expect(screenDtlsDatagram(dtlsRecord(ContentType.applicationData, 0xffff, 5, randomBytes(40)), established())).toBeUndefined();
  });

  it("after the handshake lets through current-epoch handshake and application data; werift authenticates those itself", () => {
    for (const type of [ContentType.handshake, ContentType.applicationData]) {
      const record = dtlsRecord(type, 1, 5, randomBytes(40));
      expect(screenDtlsDatagram(record, established(() => false))).toBe(record);
    }
  });

  it("after the handshake lets a current-epoch alert through only if it authenticates", () => {
    const alert = dtlsRecord(ALERT, 1, 5, randomBytes(26));
    expect(screenDtlsDatagram(alert, established((f) => f.equals(alert.subarray(13))))).toBe(alert);
    expect(screenDtlsDatagram(alert, established(() => false))).toBeUndefined();
  });

  it("keeps the records of a datagram that pass and drops the others: a retransmitted final flight leaves only its Finished", () => {
    const finished = dtlsRecord(ContentType.handshake, 1, 0, randomBytes(40));
    const flight = Buffer.concat([dtlsRecord(ContentType.handshake, 0, 3, randomBytes(30)), dtlsRecord(ContentType.changeCipherSpec, 0, 4, [1]), finished]);
    expect(parseDtlsRecords(flight).map((r) => [r.contentType, r.epoch, r.sequenceNumber])).toEqual([[22, 0, 3], [20, 0, 4], [22, 1, 0]]);
    expect(screenDtlsDatagram(flight, established())).toEqual(finished);
  });

  it("carriesFatalAlert: an authenticated current-epoch alert of level fatal, nothing else", () => {
    const fatal = dtlsRecord(ALERT, 1, 5, [2, 40]);
    expect(carriesFatalAlert(fatal, established())).toBe(true);
    expect(carriesFatalAlert(Buffer.concat([dtlsRecord(ContentType.applicationData, 1, 4, [9, 9]), fatal]), established())).toBe(true);
    expect(carriesFatalAlert(fatal, established(() => false))).toBe(false);
    expect(carriesFatalAlert(dtlsRecord(ALERT, 1, 5, CLOSE_NOTIFY), established())).toBe(false);
    expect(carriesFatalAlert(dtlsRecord(ALERT, 0, 5, [2, 40]), established())).toBe(false);
    expect(carriesFatalAlert(fatal, { established: false })).toBe(false);
  });

  it("isDtlsDatagram: first byte 20..63 (RFC 7983)", () => {
    expect([0, 3, 19, 20, 63, 64, 128, 191].map((b) => isDtlsDatagram(Buffer.from([b, 0])))).toEqual([false, false, false, true, true, false, false, false]);
    expect(isDtlsDatagram(Buffer.alloc(0))).toBe(false);
  });
});

// ---- the same rules in front of real werift 0.24.4 DTLS sessions, over an in-memory link ----

/** One side of a datagram link: what werift's DtlsSocket takes as its transport. */
class LinkEnd {
  readonly type = "memory";
  readonly address = { address: "memory", port: 0, family: "memory" };
  closed = false;
  onData: (data: Buffer) => void = () => {};
  peer!: LinkEnd;
  /** On the wire from this side: true loses the datagram. */
  lose: (data: Buffer) => boolean = () => false;
  /** In front of this side's session, like the node's I/O edge. */
  guard: ((data: Buffer) => Buffer | undefined) | undefined;
  send = async (data: Buffer): Promise<void> => {
    if (this.lose(data)) return;
    const copy = Buffer.from(data);
    setImmediate(() => this.peer.receive(copy));
  };
  receive(data: Buffer): void {
    const passed = this.guard ? this.guard(data) : data;
    if (passed) this.onData(passed);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

interface Session {
  socket: DtlsSocket;
  end: LinkEnd;
  closed: boolean;
  errors: unknown[];
  data: Buffer[];
}

/** A werift DTLS server (the node's role on a subscriber PeerConnection) and client, handshaken. */
async function connectedPair(setup: (server: Session, client: Session) => void = () => {}): Promise<{ server: Session; client: Session }> {
  const cert = await CipherContext.createSelfSignedCertificateWithKey({ signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 }, NamedCurveAlgorithm.secp256r1_23);
  const serverEnd = new LinkEnd();
  const clientEnd = new LinkEnd();
  serverEnd.peer = clientEnd;
  clientEnd.peer = serverEnd;
  const options = { cert: cert.certPem, key: cert.keyPem, signatureHash: cert.signatureHash, srtpProfiles: [1 as const], extendedMasterSecret: true };
  const session = (socket: DtlsSocket, end: LinkEnd): Session => {
    const s: Session = { socket, end, closed: false, errors: [], data: [] };
    socket.onClose.subscribe(() => void (s.closed = true));
    socket.onError.subscribe((e) => void s.errors.push(e));
    socket.onData.subscribe((d) => void s.data.push(d));
    return s;
  };
  const server = session(new DtlsServer({ ...options, transport: serverEnd, certificateRequest: true }), serverEnd);
  const client = session(new DtlsClient({ ...options, transport: clientEnd }), clientEnd);
  setup(server, client);
  const connected = (s: Session) => new Promise<void>((resolve) => s.socket.onConnect.once(() => resolve()));
  await Promise.all([connected(server), connected(client), (client.socket as DtlsClient).connect()]);
  return { server, client };
}

/** Puts the node's guard in front of a session, as its I/O edge does. */
const guard = (s: Session) => (s.end.guard = (data) => screenDtlsDatagram(data, dtlsSessionView(s.socket)));
const inject = (s: Session, data: Buffer) => s.end.receive(data);

/** True once `message` sent from `from` has arrived at `to`; the link keeps order, so whatever was injected before has been handled. */
async function delivers(from: Session, to: Session, message: string): Promise<boolean> {
  await from.socket.send(Buffer.from(message));
  for (let i = 0; i < 100; i++) {
    if (to.data.some((d) => d.toString() === message)) return true;
    await new Promise((r) => setImmediate(r));
  }
  return false;
}

describe("werift's DTLS session, unguarded and behind the guard", () => {
  it("a plaintext close_notify from anyone closes an unguarded session; behind the guard it is dropped and data flows", async () => {
    const bare = await connectedPair();
    inject(bare.server, plaintextCloseNotify(9));
    expect(bare.server.closed).toBe(true);

    const { server, client } = await connectedPair();
    guard(server);
    inject(server, plaintextCloseNotify(9));
    expect(await delivers(client, server, "after close_notify")).toBe(true);
    expect(server.closed).toBe(false);
  });

  it("a record of an unknown type (or heartbeat) closes an unguarded session; behind the guard it is dropped", async () => {
    const bare = await connectedPair();
    inject(bare.server, dtlsRecord(HEARTBEAT, 1, 9, randomBytes(30)));
    expect(bare.server.closed).toBe(true);

    const { server, client } = await connectedPair();
    guard(server);
    for (const type of [HEARTBEAT, 30, 63]) inject(server, dtlsRecord(type, 1, 9, randomBytes(30)));
    expect(await delivers(client, server, "after unknown types")).toBe(true);
    expect(server.closed).toBe(false);
  });

  it("a forged current-epoch alert whose first bytes name an alert is taken as plaintext unguarded; the guard drops it as unauthenticated", async () => {
    const forged = dtlsRecord(ALERT, 1, 9, [...CLOSE_NOTIFY, ...randomBytes(24)]);
    const bare = await connectedPair();
    inject(bare.server, forged);
    expect(bare.server.closed).toBe(true);

    const { server, client } = await connectedPair();
    guard(server);
    inject(server, forged);
    expect(await delivers(client, server, "after forged alert")).toBe(true);
    expect(server.closed).toBe(false);
  });

  it("a plaintext ClientHello makes an unguarded server start over; behind the guard the session stays", async () => {
    const bare = await connectedPair();
    inject(bare.server, dtlsRecord(ContentType.handshake, 0, 9, EMPTY_CLIENT_HELLO));
    await new Promise((r) => setImmediate(r));
    expect(bare.server.socket.connected).toBe(false);

    const { server, client } = await connectedPair();
    guard(server);
    inject(server, dtlsRecord(ContentType.handshake, 0, 9, EMPTY_CLIENT_HELLO));
    expect(await delivers(client, server, "after ClientHello")).toBe(true);
    expect(server.socket.connected).toBe(true);
  });

  it("current-epoch records that fail authentication (application data, handshake) are dropped by werift without closing", async () => {
    const { server, client } = await connectedPair();
    for (const type of [ContentType.applicationData, ContentType.handshake]) {
      for (const size of [0, 8, 24, 200]) inject(server, dtlsRecord(type, 1, 50 + size, randomBytes(size)));
    }
    expect(await delivers(client, server, "after garbage")).toBe(true);
    expect(server.closed).toBe(false);
    expect(server.errors).toEqual([]);
    expect(server.data.map((d) => d.toString())).toEqual(["after garbage"]);
  });

  it("an authenticated close_notify from the peer passes the guard and closes the session", async () => {
    const { server, client } = await connectedPair();
    guard(server);
    inject(server, sealedRecord(client.socket, ALERT, CLOSE_NOTIFY));
    expect(server.closed).toBe(true);
  });

  it("an authenticated fatal alert is ignored by werift; carriesFatalAlert tells the edge to end the session", async () => {
    const { server, client } = await connectedPair();
    const fatal = sealedRecord(client.socket, ALERT, [2, 40]);
    expect(carriesFatalAlert(fatal, dtlsSessionView(server.socket))).toBe(true);
    guard(server);
    inject(server, fatal);
    expect(await delivers(client, server, "after fatal alert")).toBe(true);
    expect(server.closed).toBe(false);
  });

  it("a final flight retransmitted because our Finished was lost still completes the peer's handshake behind the guard", async () => {
    let lostFinished = 0;
    let strippedAfterHandshake = 0;
    const { client } = await connectedPair((server) => {
      // The server's first Finished (its only epoch-1 handshake record) is lost on the wire.
      server.end.lose = (data) => {
        const finished = parseDtlsRecords(data).some((r) => r.contentType === ContentType.handshake && r.epoch === 1);
        if (!finished || lostFinished > 0) return false;
        lostFinished++;
        return true;
      };
      server.end.guard = (data) => {
        const view = dtlsSessionView(server.socket);
        const passed = screenDtlsDatagram(data, view);
        if (view.established && passed?.length !== data.length) strippedAfterHandshake++;
        return passed;
      };
    });
    expect(lostFinished).toBe(1);
    // The client's retransmission reached the established server; its epoch-0 records were dropped.
    expect(strippedAfterHandshake).toBeGreaterThan(0);
    expect(client.socket.connected).toBe(true);
  });
});
