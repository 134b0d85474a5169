import { describe, expect, it } from "vitest";
import { RoomLock } from "../../worker/src/room-lock.ts";

/** An operation the test finishes by hand, recording when it started and ended. */
function step(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    op: async () => {
      log.push(`${name} start`);
      await done;
      log.push(`${name} end`);
      return name;
    },
    finish: () => finish(),
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("RoomLock", () => {
  it("runs different lanes side by side and one lane in order", async () => {
    const lock = new RoomLock();
    const log: string[] = [];
    const [a1, a2, b1] = [step(log, "a1"), step(log, "a2"), step(log, "b1")];
    const runs = [lock.lane("a", a1.op), lock.lane("a", a2.op), lock.lane("b", b1.op)];
    await flush();
    expect(log).toEqual(["a1 start", "b1 start"]);
    a1.finish();
    await flush();
    expect(log).toEqual(["a1 start", "b1 start", "a1 end", "a2 start"]);
    a2.finish();
    b1.finish();
    expect(await Promise.all(runs)).toEqual(["a1", "a2", "b1"]);
  });

  it("runs exclusive work alone: after the lanes already running, before lane work that came later", async () => {
    const lock = new RoomLock();
    const log: string[] = [];
    const [a, x, b] = [step(log, "a"), step(log, "x"), step(log, "b")];
    const runs = [lock.lane("a", a.op), lock.exclusive(x.op), lock.lane("b", b.op)];
    await flush();
    expect(log).toEqual(["a start"]);
    a.finish();
    await flush();
    expect(log).toEqual(["a start", "a end", "x start"]);
    x.finish();
    await flush();
    expect(log.at(-1)).toBe("b start");
    b.finish();
    await Promise.all(runs);
  });

  it("a failed operation rejects its caller but does not stop its lane or the room", async () => {
    const lock = new RoomLock();
    await expect(lock.lane("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(lock.exclusive(async () => Promise.reject(new Error("bang")))).rejects.toThrow("bang");
    expect(await lock.lane("a", async () => "next")).toBe("next");
    expect(await lock.exclusive(async () => "after")).toBe("after");
  });
});
