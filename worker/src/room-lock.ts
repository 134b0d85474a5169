/**
 * The room's ordering rule. Work for one participant (its signaling messages, the node's events
 * about it) runs in that participant's lane, one at a time and in arrival order, while lanes of
 * different participants run side by side: one joiner's node calls do not wait for another's.
 * Work on the whole room (moving it to another node, removing a participant, the expiry alarm)
 * runs alone: it waits for the lanes already running, and lane work that arrives after it waits
 * for it.
 */
export class RoomLock {
  /** The last exclusive operation queued (settled, never rejected). */
  private exclusiveTail: Promise<unknown> = Promise.resolve();
  /** Per lane, its last operation (settled, never rejected). */
  private readonly lanes = new Map<string, Promise<unknown>>();
  private readonly running = new Set<Promise<unknown>>();

  lane<T>(key: string, op: () => Promise<T>): Promise<T> {
    const before = Promise.all([this.exclusiveTail, this.lanes.get(key)]);
    const run = before.then(op);
    const settled: Promise<unknown> = run.catch(() => undefined);
    this.lanes.set(key, settled);
    this.running.add(settled);
    void settled.then(() => {
      this.running.delete(settled);
      if (this.lanes.get(key) === settled) this.lanes.delete(key);
    });
    return run;
  }

  exclusive<T>(op: () => Promise<T>): Promise<T> {
    const run = Promise.all([this.exclusiveTail, ...this.running]).then(op);
    this.exclusiveTail = run.catch(() => undefined);
    return run;
  }
}
