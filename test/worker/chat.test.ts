import { reset } from "cloudflare:test";
import { CHAT_BURST, MAX_CHAT_CHARS, type ChatMessage } from "@sfu/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeOpenedSockets, eventually, openRoomSocket, registerNode, storedRoom, type RoomSocket } from "./helpers.ts";

beforeEach(async () => {
  await reset();
  await registerNode("fake-node");
});

afterEach(closeOpenedSockets);

const chats = (s: RoomSocket): ChatMessage[] => s.received.flatMap((m) => (m.type === "chat" ? [m.message] : []));

describe("chat through the room", () => {
  it("reaches everyone, the sender too, and a later joiner gets the history right after joined", async () => {
    const alice = await openRoomSocket("chat");
    const { participantId: aliceId } = await alice.join("Alice");
    const bob = await openRoomSocket("chat");
    await bob.join("Bob");

    alice.send({ v: 1, type: "chat", text: "  hello <b>Bob</b>  " });
    const atBob = await bob.next("chat");
    expect(atBob.message).toMatchObject({ from: aliceId, name: "Alice", text: "hello <b>Bob</b>" });
    expect((await alice.next("chat")).message).toEqual(atBob.message);
    bob.send({ v: 1, type: "chat", text: "hi Alice" });
    await alice.next("chat", (m) => m.message.text === "hi Alice");

    const carol = await openRoomSocket("chat");
    await carol.join("Carol");
    const history = await carol.next("chat-history");
    const types = carol.received.map((m) => m.type);
    expect(types.indexOf("chat-history")).toBe(types.indexOf("joined") + 1);
    expect(history.messages.map((m) => [m.name, m.text])).toEqual([["Alice", "hello <b>Bob</b>"], ["Bob", "hi Alice"]]);
    expect((await storedRoom("chat")).chat?.map((m) => m.text)).toEqual(["hello <b>Bob</b>", "hi Alice"]);
  });

  it("a message over MAX_CHAT_CHARS, or empty, gets bad-message and reaches nobody", async () => {
    const alice = await openRoomSocket("chat-bad");
    await alice.join("Alice");
    const bob = await openRoomSocket("chat-bad");
    await bob.join("Bob");

    alice.send({ v: 1, type: "chat", text: "x".repeat(MAX_CHAT_CHARS + 1) });
    expect(await alice.next("error", (m) => m.inReplyTo === "chat")).toMatchObject({ code: "bad-message", message: expect.stringContaining(`at most ${MAX_CHAT_CHARS} characters`) });
    alice.send({ v: 1, type: "chat", text: "   " });
    expect(await alice.next("error", (m) => m.inReplyTo === "chat")).toMatchObject({ code: "bad-message" });
    // A join queued behind them sees no chat, and the room stored none.
    const carol = await openRoomSocket("chat-bad");
    await carol.join("Carol");
    expect([...chats(alice), ...chats(bob)]).toEqual([]);
    expect(carol.received.map((m) => m.type)).not.toContain("chat-history");
    expect((await storedRoom("chat-bad")).chat).toEqual([]);
  });

  it("a participant's burst past CHAT_BURST gets rate-limited for chat, and the others still get the rest", async () => {
    const alice = await openRoomSocket("chat-fast");
    await alice.join("Alice");
    const bob = await openRoomSocket("chat-fast");
    await bob.join("Bob");

    for (let i = 0; i <= CHAT_BURST; i++) alice.send({ v: 1, type: "chat", text: `message ${i}` });
    const refused = await alice.next("error", (m) => m.inReplyTo === "chat");
    expect(refused.code).toBe("rate-limited");
    await eventually(async () => expect(chats(bob)).toHaveLength(CHAT_BURST));
    expect(chats(bob).map((m) => m.text)).toEqual(Array.from({ length: CHAT_BURST }, (_, i) => `message ${i}`));
    // Bob's own allowance is his.
    bob.send({ v: 1, type: "chat", text: "my turn" });
    await alice.next("chat", (m) => m.message.text === "my turn");
  });

  it("is stored in sequence order past nine messages (storage lists keys as text)", async () => {
    const people = await Promise.all(["Alice", "Bob", "Carol"].map(async (name) => {
      const s = await openRoomSocket("chat-order");
      await s.join(name);
      return s;
    }));
    const texts = Array.from({ length: 12 }, (_, i) => `message ${i + 1}`);
    for (const [i, text] of texts.entries()) {
      people[i % 3]!.send({ v: 1, type: "chat", text });
      await people[0]!.next("chat", (m) => m.message.text === text);
    }
    const stored = (await storedRoom("chat-order")).chat!;
    expect(stored.map((m) => [m.id, m.text])).toEqual(texts.map((t, i) => [String(i + 1), t]));
  });
});
