import { describe, expect, it } from "vitest";
import {
  ClientMessage,
  clientMessage,
  DisplayName,
  ErrorCode,
  isForwardableCandidate,
  MAX_CHAT_CHARS,
  MAX_SIGNAL_BYTES,
  parseClientMessage,
  ROOM_PROTOCOL_VERSION,
  RoomName,
  serverMessage,
  ServerMessage,
  type ClientMessageBody,
  type ServerMessageBody,
} from "@sfu/shared";

const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

type Failure = Extract<ReturnType<typeof parseClientMessage>, { ok: false }>;

function expectError(raw: string | ArrayBuffer, code: ErrorCode, inReplyTo?: string): Failure {
  let result: ReturnType<typeof parseClientMessage> | undefined;
  expect(() => (result = parseClientMessage(raw))).not.toThrow();
  if (!result || result.ok) throw new Error(`expected ${code}, got ${JSON.stringify(result)}`);
  expect(result.code).toBe(code);
  expect(result.message.length).toBeGreaterThan(0);
  if (inReplyTo !== undefined) expect(result.inReplyTo).toBe(inReplyTo);
  return result;
}

describe("parseClientMessage: valid messages", () => {
  const valid: ClientMessageBody[] = [
    { type: "join", name: "Alice" },
    { type: "join", name: "Zoë ✨" },
    { type: "publish", sdp: SDP },
    { type: "publish", sdp: SDP, screen: ["2"] },
    { type: "subscriber-answer", sdp: SDP },
    { type: "ice-candidate", target: "publisher", candidate: { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 } },
    { type: "ice-candidate", target: "subscriber", candidate: { candidate: "" } },
    { type: "ice-candidate", target: "subscriber", candidate: { candidate: "candidate:x", sdpMid: null, sdpMLineIndex: null } },
    { type: "set-muted", kind: "audio", muted: true },
    { type: "set-muted", kind: "video", muted: false },
    { type: "leave" },
    { type: "resume", participantId: "p1", secret: "s3cret" },
    { type: "restart-media" },
    { type: "subscription-prefs", tracks: [{ trackId: "p1:1", width: 320, height: 240 }] },
    { type: "subscription-prefs", tracks: [{ trackId: "p1:1", width: 0, height: 0 }, { trackId: "p2:1", width: 16384, height: 16384 }] },
    { type: "chat", text: "hello <b>everyone</b> 👋" },
  ];

  it("covers every ClientMessage type", () => {
    const types = new Set(valid.map((m) => m.type));
    const all = ClientMessage.options.map((o) => o.shape.type.value);
    expect([...types].sort()).toEqual([...all].sort());
  });

  it.each(valid.map((m) => [m.type, m] as const))("parses %s", (_type, body) => {
    const raw = JSON.stringify(clientMessage(body));
    const result = parseClientMessage(raw);
    expect(result).toEqual({ ok: true, value: { v: ROOM_PROTOCOL_VERSION, ...body } });
  });

  it("trims display names", () => {
    const result = parseClientMessage(JSON.stringify({ v: 1, type: "join", name: "  Bob  " }));
    expect(result.ok && result.value.type === "join" && result.value.name).toBe("Bob");
  });

  it("strips unknown extra fields", () => {
    const result = parseClientMessage(JSON.stringify({ v: 1, type: "leave", extra: "x" }));
    expect(result).toEqual({ ok: true, value: { v: 1, type: "leave" } });
  });

  it("accepts a message exactly MAX_SIGNAL_BYTES long", () => {
    const prefix = JSON.stringify({ v: 1, type: "publish", sdp: "" });
    const sdp = "a".repeat(MAX_SIGNAL_BYTES - prefix.length);
    const raw = JSON.stringify({ v: 1, type: "publish", sdp });
    expect(raw.length).toBe(MAX_SIGNAL_BYTES);
    expect(parseClientMessage(raw).ok).toBe(true);
  });
});

describe("parseClientMessage: invalid frames", () => {
  it.each([
    ["empty string", ""],
    ["truncated", '{"v":1,"type":"join"'],
    ["not json", "hello"],
    ["single quotes", "{'v':1,'type':'leave'}"],
    ["trailing garbage", '{"v":1,"type":"leave"}x'],
  ])("rejects invalid JSON (%s) as bad-message", (_name, raw) => {
    const r = expectError(raw, "bad-message");
    expect(r.message).toMatch(/JSON/);
  });

  it("rejects binary frames as bad-message", () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, type: "leave" }));
    const r = expectError(bytes.buffer as ArrayBuffer, "bad-message");
    expect(r.message).toMatch(/binary/);
  });

  it("rejects an oversized text frame as message-too-large", () => {
    const raw = JSON.stringify({ v: 1, type: "publish", sdp: "a".repeat(MAX_SIGNAL_BYTES) });
    expect(raw.length).toBeGreaterThan(MAX_SIGNAL_BYTES);
    expectError(raw, "message-too-large");
  });

  it("rejects a text frame one byte over the limit", () => {
    expectError("x".repeat(MAX_SIGNAL_BYTES + 1), "message-too-large");
  });

  it("measures the limit in UTF-8 bytes, not UTF-16 code units", () => {
    // 30k three-byte characters: 30k code units but 90k bytes on the wire.
    const raw = JSON.stringify({ v: 1, type: "publish", sdp: "€".repeat(30_000) });
    expect(raw.length).toBeLessThan(MAX_SIGNAL_BYTES);
    expect(new TextEncoder().encode(raw).byteLength).toBeGreaterThan(MAX_SIGNAL_BYTES);
    expectError(raw, "message-too-large");
  });

  it("accepts multibyte text that fits in MAX_SIGNAL_BYTES", () => {
    const raw = JSON.stringify({ v: 1, type: "join", name: "€".repeat(64) });
    expect(parseClientMessage(raw).ok).toBe(true);
  });

  it("rejects an oversized binary frame as message-too-large", () => {
    expectError(new ArrayBuffer(MAX_SIGNAL_BYTES + 1), "message-too-large");
  });

  it.each([
    [0, "join"],
    [2, "join"],
    ["1", "leave"],
    [null, "publish"],
    [1.5, "leave"],
  ])("rejects v=%j as unsupported-version (inReplyTo %s)", (v, type) => {
    const r = expectError(JSON.stringify({ v, type, name: "A" }), "unsupported-version", type);
    expect(r.message).toContain(`v${ROOM_PROTOCOL_VERSION}`);
  });

  it("reports unsupported-version even when the rest of the message is unknown", () => {
    expectError(JSON.stringify({ v: 99, type: "future-thing", data: [1, 2, 3] }), "unsupported-version", "future-thing");
  });

  it("rejects a missing v as bad-message", () => {
    expectError(JSON.stringify({ type: "leave" }), "bad-message", "leave");
  });

  it("rejects an unknown type as bad-message", () => {
    expectError(JSON.stringify({ v: 1, type: "shout", text: "hi" }), "bad-message", "shout");
  });

  it("truncates a long inReplyTo to 64 characters", () => {
    const r = expectError(JSON.stringify({ v: 1, type: "x".repeat(500) }), "bad-message");
    expect(r.inReplyTo).toBe("x".repeat(64));
  });

  it.each([
    ["null", "null"],
    ["array", "[1,2]"],
    ["number", "42"],
    ["string", '"join"'],
    ["true", "true"],
    ["type is a number", '{"v":1,"type":7}'],
    ["type missing", '{"v":1}'],
    ["__proto__ key", '{"v":1,"type":"leave","__proto__":{"polluted":true}}'],
    ["deep nesting", "[".repeat(5000) + "]".repeat(5000)],
  ])("never throws on %s", (_name, raw) => {
    expect(() => parseClientMessage(raw)).not.toThrow();
    const r = parseClientMessage(raw);
    if (!r.ok) expect(ErrorCode.options).toContain(r.code);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("gives bad-message without inReplyTo for non-object JSON", () => {
    const r = expectError("[1,2]", "bad-message");
    expect(r.inReplyTo).toBeUndefined();
  });
});

describe("parseClientMessage: invalid fields", () => {
  it.each([
    ["empty name", { v: 1, type: "join", name: "" }, "name"],
    ["whitespace-only name", { v: 1, type: "join", name: "   \t " }, "name"],
    ["65-character name", { v: 1, type: "join", name: "n".repeat(65) }, "name"],
    ["numeric name", { v: 1, type: "join", name: 5 }, "name"],
    ["missing name", { v: 1, type: "join" }, "name"],
    ["missing sdp", { v: 1, type: "publish" }, "sdp"],
    ["two screen shares", { v: 1, type: "publish", sdp: SDP, screen: ["1", "2"] }, "screen"],
    ["a mid with a space", { v: 1, type: "publish", sdp: SDP, screen: ["a b"] }, "screen.0"],
    ["empty sdp", { v: 1, type: "subscriber-answer", sdp: "" }, "sdp"],
    ["missing candidate", { v: 1, type: "ice-candidate", target: "publisher" }, "candidate"],
    ["missing target", { v: 1, type: "ice-candidate", candidate: { candidate: "" } }, "target"],
    ["bad target", { v: 1, type: "ice-candidate", target: "both", candidate: { candidate: "" } }, "target"],
    ["candidate too long", { v: 1, type: "ice-candidate", target: "publisher", candidate: { candidate: "c".repeat(1025) } }, "candidate.candidate"],
    ["negative mline", { v: 1, type: "ice-candidate", target: "publisher", candidate: { candidate: "", sdpMLineIndex: -1 } }, "candidate.sdpMLineIndex"],
    ["missing muted", { v: 1, type: "set-muted", kind: "audio" }, "muted"],
    ["string muted", { v: 1, type: "set-muted", kind: "audio", muted: "yes" }, "muted"],
    ["bad kind", { v: 1, type: "set-muted", kind: "screen", muted: true }, "kind"],
    ["no tile sizes", { v: 1, type: "subscription-prefs", tracks: [] }, "tracks"],
    ["65 tile sizes", { v: 1, type: "subscription-prefs", tracks: Array.from({ length: 65 }, (_, i) => ({ trackId: `t${i}`, width: 1, height: 1 })) }, "tracks"],
    ["a negative width", { v: 1, type: "subscription-prefs", tracks: [{ trackId: "t", width: -1, height: 10 }] }, "tracks.0.width"],
    ["a fractional height", { v: 1, type: "subscription-prefs", tracks: [{ trackId: "t", width: 10, height: 1.5 }] }, "tracks.0.height"],
    ["a width over 16384", { v: 1, type: "subscription-prefs", tracks: [{ trackId: "t", width: 16385, height: 10 }] }, "tracks.0.width"],
    ["an empty track id", { v: 1, type: "subscription-prefs", tracks: [{ trackId: "", width: 10, height: 10 }] }, "tracks.0.trackId"],
    ["an empty chat message", { v: 1, type: "chat", text: "" }, "text"],
    ["a whitespace-only chat message", { v: 1, type: "chat", text: " \n\t " }, "text"],
    ["a chat message over MAX_CHAT_CHARS", { v: 1, type: "chat", text: "x".repeat(MAX_CHAT_CHARS + 1) }, "text"],
    ["a chat message that is not text", { v: 1, type: "chat", text: 42 }, "text"],
  ])("rejects %s as bad-message naming the field", (_name, msg, path) => {
    const r = expectError(JSON.stringify(msg), "bad-message", msg.type);
    expect(r.message).toContain(`at ${path}`);
  });
});

describe("chat", () => {
  it("takes MAX_CHAT_CHARS characters, trimmed", () => {
    const r = parseClientMessage(JSON.stringify({ v: 1, type: "chat", text: `  ${"é".repeat(MAX_CHAT_CHARS)}\n` }));
    expect(r.ok && r.value.type === "chat" && r.value.text).toBe("é".repeat(MAX_CHAT_CHARS));
  });
});

describe("RoomName and DisplayName", () => {
  it.each(["a", "room-1", "Room_2", "x".repeat(64), "ABC-def_123"])("accepts room name %j", (name) => {
    expect(RoomName.safeParse(name).success).toBe(true);
  });

  it.each(["", "x".repeat(65), "has space", "slash/room", "dot.room", "ümlaut", "room?", "../etc", "%20"])("rejects room name %j", (name) => {
    expect(RoomName.safeParse(name).success).toBe(false);
  });

  it.each(["", "  ", "x".repeat(65)])("rejects display name %j", (name) => {
    expect(DisplayName.safeParse(name).success).toBe(false);
  });

  it("accepts a 64-character display name after trimming", () => {
    expect(DisplayName.parse(`  ${"y".repeat(64)}  `)).toBe("y".repeat(64));
  });
});

describe("ServerMessage", () => {
  const participant = { id: "p1", name: "Alice", tracks: [{ id: "t1", kind: "audio" as const, muted: false }] };
  const bodies: ServerMessageBody[] = [
    { type: "joined", room: "r", participantId: "p1", participants: [participant], resumeSecret: "s", resumed: false, iceServers: [] },
    {
      type: "joined", room: "r", participantId: "p1", participants: [], resumeSecret: "s", resumed: true,
      iceServers: [{ urls: ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"], username: "1760003600:p1", credential: "R2hcCSybQw4WP4JML6BRbCrpfvY=" }],
    },
    { type: "participant-joined", participant },
    { type: "participant-updated", participant: { ...participant, tracks: [{ id: "t1", kind: "audio", muted: true }] } },
    { type: "participant-left", participantId: "p2" },
    { type: "force-mute", kind: "audio" },
    { type: "active-speaker", participantId: "p1" },
    { type: "publish-answer", sdp: SDP },
    { type: "publish-layers", trackId: "p1:1", rids: ["q", "h"] },
    { type: "subscriber-offer", sdp: SDP, tracks: [{ mid: "0", trackId: "t1", participantId: "p1", kind: "audio" }] },
    { type: "chat", message: { id: "1", from: "p1", name: "Alice", text: "hi", at: 1_760_000_000_000 } },
    { type: "chat-history", messages: [{ id: "1", from: "p1", name: "Alice", text: "hi", at: 1_760_000_000_000 }, { id: "2", from: "p2", name: "Bob", text: "hello", at: 1_760_000_001_000 }] },
    { type: "error", code: "not-joined", message: "send a join message first", inReplyTo: "publish" },
    { type: "error", code: "internal", message: "boom" },
  ];

  it("covers every ServerMessage type", () => {
    const all = ServerMessage.options.map((o) => o.shape.type.value);
    expect([...new Set(bodies.map((b) => b.type))].sort()).toEqual([...all].sort());
  });

  it.each(bodies.map((b) => [b.type, b] as const))("round-trips serverMessage(%s) through JSON", (_type, body) => {
    const msg = serverMessage(body);
    expect(msg.v).toBe(ROOM_PROTOCOL_VERSION);
    const parsed = ServerMessage.parse(JSON.parse(JSON.stringify(msg)));
    expect(parsed).toEqual(msg);
  });

  it("rejects a server message with the wrong version or an unknown error code", () => {
    expect(ServerMessage.safeParse({ v: 2, type: "participant-left", participantId: "p" }).success).toBe(false);
    expect(ServerMessage.safeParse({ v: 1, type: "error", code: "teapot", message: "x" }).success).toBe(false);
  });

  it("requires joined to carry iceServers, with turn:, turns: or stun: URLs only", () => {
    const joined = { v: 1, type: "joined", room: "r", participantId: "p1", participants: [], resumeSecret: "s", resumed: false };
    expect(ServerMessage.safeParse(joined).success).toBe(false);
    expect(ServerMessage.safeParse({ ...joined, iceServers: [] }).success).toBe(true);
    expect(ServerMessage.safeParse({ ...joined, iceServers: [{ urls: ["https://turn.example.com"] }] }).success).toBe(false);
  });
});

describe("isForwardableCandidate", () => {
  it.each([
    "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0",
    "candidate:1 1 UDP 2122260223 192.168.1.20 50000 typ host",
    "a=candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host",
    "candidate:2 1 udp 2122260223 2001:db8::1 50001 typ host",
  ])("forwards UDP candidate %j", (c) => {
    expect(isForwardableCandidate(c)).toBe(true);
  });

  it.each([
    ["empty (end of candidates)", ""],
    ["TCP", "candidate:3 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active"],
    ["mDNS host", "candidate:4 1 udp 2122260223 4b1c6f1e-1234-4cde-9f00-abcdefabcdef.local 50000 typ host"],
    ["mDNS host, upper case", "candidate:4 1 udp 2122260223 ABC.LOCAL 50000 typ host"],
    ["truncated", "candidate:5 1 udp 2122260223 10.0.0.1"],
    ["garbage", "hello world"],
  ])("drops %s", (_name, c) => {
    expect(isForwardableCandidate(c)).toBe(false);
  });
});
