import { decodeDataFrame, DeliveredDataHeader, encodeDataFrame, MAX_DATA_PAYLOAD_BYTES } from "@sfu/shared";
import { describe, expect, it } from "vitest";
import { DataRouter } from "../../media-node/src/forwarding/data-router.ts";

const roster = new Set(["ada", "grace", "bob"]);
const bytes = (text: string) => new TextEncoder().encode(text);
const frame = (payload: Uint8Array, to?: string[]) => encodeDataFrame(to ? { to } : {}, payload);

/** The header and payload text of a frame the node sends. */
function read(f: Uint8Array): { header: DeliveredDataHeader; text: string } {
  const d = decodeDataFrame(f);
  if (!d.ok) throw new Error(d.message);
  return { header: DeliveredDataHeader.parse(d.header), text: new TextDecoder().decode(d.payload) };
}

describe("app data routing", () => {
  it("goes to everyone else, marked with its sender", () => {
    const route = new DataRouter().route("ada", frame(bytes("hi")), roster, 0);
    expect(route.ok && route.to).toEqual(["grace", "bob"]);
    expect(route.ok && read(route.frame)).toEqual({ header: { from: "ada" }, text: "hi" });
  });

  it("goes only to the named participants, each once", () => {
    const route = new DataRouter().route("ada", frame(bytes("psst"), ["bob", "bob"]), roster, 0);
    expect(route.ok && route.to).toEqual(["bob"]);
  });

  it.each([
    ["text instead of a binary frame", "hello", "bad-data-packet"],
    ["a wrong version", Uint8Array.of(9, 0, 2, 123, 125), "bad-data-packet"],
    ["a header length past the end", Uint8Array.of(1, 0, 50, 123, 125), "bad-data-packet"],
    ["a header that is not JSON", Uint8Array.of(1, 0, 1, 0x7b), "bad-data-packet"],
    ["a header with other fields", encodeDataFrame({ from: "grace" } as never, bytes("x")), "bad-data-packet"],
    ["a payload over the limit", frame(new Uint8Array(MAX_DATA_PAYLOAD_BYTES + 1)), "data-too-large"],
    ["a frame far over the limit", new Uint8Array(1 << 20), "data-too-large"],
    ["a recipient not in the room", frame(bytes("x"), ["grace", "mallory"]), "unknown-recipient"],
    ["the sender as recipient", frame(bytes("x"), ["ada"]), "unknown-recipient"],
  ])("refuses %s with a typed error back to the sender, delivering nothing", (_, data, code) => {
    const route = new DataRouter().route("ada", data, roster, 0);
    expect(route.ok).toBe(false);
    if (route.ok) return;
    expect(route.code).toBe(code);
    expect(read(route.reply).header).toEqual({ error: code, message: route.message });
  });

  it("a payload of exactly the limit goes through", () => {
    expect(new DataRouter().route("ada", frame(new Uint8Array(MAX_DATA_PAYLOAD_BYTES)), roster, 0).ok).toBe(true);
  });

  it("limits each sender's bytes per second, refilled over time, and not others'", () => {
    const router = new DataRouter({ ratePerS: 1000, burst: 2000 });
    const kilobyte = frame(new Uint8Array(1000));
    expect(router.route("ada", kilobyte, roster, 0).ok).toBe(true);
    expect(router.route("ada", kilobyte, roster, 0).ok).toBe(true);
    const over = router.route("ada", kilobyte, roster, 0);
    expect(!over.ok && over.code).toBe("data-rate-limited");
    expect(router.route("grace", kilobyte, roster, 0).ok).toBe(true);
    expect(router.route("ada", kilobyte, roster, 1000).ok).toBe(true);
  });
});
