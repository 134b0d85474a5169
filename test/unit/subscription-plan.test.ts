import { describe, expect, it } from "vitest";
import { planSubscriptions } from "../../media-node/src/forwarding/subscription-plan.ts";

const sorted = (p: { add: string[]; remove: string[] }) => ({ add: [...p.add].sort(), remove: [...p.remove].sort() });

describe("planSubscriptions", () => {
  it.each([
    ["nothing wanted, nothing held", [], [], [], []],
    ["subscribe to everything from scratch", ["a", "b"], [], ["a", "b"], []],
    ["drop everything", [], ["a", "b"], [], ["a", "b"]],
    ["already in sync", ["a", "b"], ["b", "a"], [], []],
    ["add and remove at once", ["a", "c", "d"], ["a", "b"], ["c", "d"], ["b"]],
    ["disjoint sets", ["x"], ["y"], ["x"], ["y"]],
  ])("%s", (_name, wanted, current, add, remove) => {
    expect(sorted(planSubscriptions(wanted, current))).toEqual({ add, remove });
  });

  it("ignores duplicates in either input", () => {
    expect(sorted(planSubscriptions(["a", "a", "b"], ["b", "b", "c", "c"]))).toEqual({ add: ["a"], remove: ["c"] });
  });

  it("accepts any iterable (Map keys, Set)", () => {
    const wanted = new Map([["t1", 1], ["t2", 2]]).keys();
    const current = new Set(["t2", "t3"]);
    expect(sorted(planSubscriptions(wanted, current))).toEqual({ add: ["t1"], remove: ["t3"] });
  });

  it("applying the plan yields exactly the wanted set", () => {
    const wanted = ["a", "b", "c", "e"];
    const current = new Set(["b", "d", "e", "f"]);
    const plan = planSubscriptions(wanted, current);
    for (const id of plan.remove) current.delete(id);
    for (const id of plan.add) current.add(id);
    expect([...current].sort()).toEqual([...wanted].sort());
  });
});
