import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RetiringNode } from "../../worker/src/retiring-node.ts";

const OLD = { id: "node-old" };

describe("RetiringNode (make before break on a drain)", () => {
  let freed: string[][];
  const make = (participants: string[], publishers: string[]) =>
    new RetiringNode(OLD, participants, publishers, (_node, ids) => freed.push(ids), { settleMs: 3000, deadlineMs: 15_000 });

  beforeEach(() => {
    vi.useFakeTimers();
    freed = [];
  });
  afterEach(() => vi.useRealTimers());

  it("keeps the old node until every publisher has republished, then a settling time, then frees everyone", () => {
    const r = make(["a", "b", "viewer"], ["a", "b"]);
    r.republished("a");
    vi.advanceTimersByTime(10_000);
    expect(freed).toEqual([]);
    r.republished("b");
    vi.advanceTimersByTime(2999);
    expect(freed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(freed).toEqual([["a", "b", "viewer"]]);
    expect(r.finished).toBe(true);
  });

  it("frees everyone at the deadline even if someone never republishes", () => {
    const r = make(["a", "b"], ["a", "b"]);
    r.republished("a");
    vi.advanceTimersByTime(15_000);
    expect(freed).toEqual([["a", "b"]]);
    r.republished("b");
    vi.advanceTimersByTime(10_000);
    expect(freed).toHaveLength(1);
  });

  it("frees a participant who leaves at once, and does not wait for its republish", () => {
    const r = make(["a", "b"], ["a", "b"]);
    r.left("b");
    expect(freed).toEqual([["b"]]);
    r.republished("a");
    vi.advanceTimersByTime(3000);
    expect(freed).toEqual([["b"], ["a"]]);
  });

  it("with nobody publishing, frees after the settling time", () => {
    make(["viewer"], []);
    vi.advanceTimersByTime(3000);
    expect(freed).toEqual([["viewer"]]);
  });
});
