import { describe, expect, it } from "vitest";
import { EdgeToNode, MAX_NODE_MESSAGE_BYTES, NodeToEdge, parseNodeMessage } from "@sfu/shared";

const hello = { type: "hello", version: 3, region: "eu", capacity: 10, load: { rooms: 0, participants: 0, tracks: 0, cpu: 0 }, rooms: [] };

describe("parseNodeMessage", () => {
  it("accepts a valid envelope and returns it typed", () => {
    expect(parseNodeMessage(NodeToEdge, JSON.stringify(hello))).toEqual({ ok: true, value: hello });
  });

  it("measures the limit in UTF-8 bytes as sent, not in UTF-16 units", () => {
    // 70,000 'é' are 70,000 UTF-16 units but 140,000 bytes on the wire.
    const text = JSON.stringify({ ...hello, region: "é".repeat(70_000) });
    expect(text.length).toBeLessThan(MAX_NODE_MESSAGE_BYTES);
    expect(parseNodeMessage(NodeToEdge, text)).toEqual({ ok: false, message: `message exceeds ${MAX_NODE_MESSAGE_BYTES} bytes` });
  });

  it.each([
    ["binary", new ArrayBuffer(8), "binary messages are not part of the protocol"],
    ["not JSON", "{nope", "message is not JSON"],
    ["an unknown type", JSON.stringify({ type: "teleport" }), "invalid message at type"],
    ["a request for an unknown action", JSON.stringify({ type: "request", id: 1, action: "teleport", body: {} }), "invalid message at action"],
    ["a bad region", JSON.stringify({ ...hello, region: "eu west" }), "invalid message at region"],
  ])("refuses %s with a message saying why", (_name, raw, message) => {
    const schema = typeof raw === "string" && raw.includes("request") ? EdgeToNode : NodeToEdge;
    const parsed = parseNodeMessage(schema, raw);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.message).toContain(message);
  });
});
