import type { Cancel, Clock, Scheduler } from "./clock.ts";

/** A clock that moves only when told to (tests, simulations). */
export class ManualClock implements Clock {
  constructor(
    public time = 0,
    private readonly wallAtZero = 1_700_000_000_000,
  ) {}

  now(): number {
    return this.time;
  }

  wallMs(now: number): number {
    return this.wallAtZero + now;
  }
}

interface Timer {
  due: number;
  /** Repeat interval; undefined for a one-shot timer. */
  every: number | undefined;
  fn: (now: number) => void;
  /** Timers due at the same time fire in the order they were set up. */
  order: number;
}

/** Timers driven by `advance`: each fires at its due time, with the clock set to that time. */
export class ManualScheduler implements Scheduler {
  readonly clock: ManualClock;
  private readonly timers = new Set<Timer>();
  private scheduled = 0;
  private closed = false;

  constructor(clock = new ManualClock()) {
    this.clock = clock;
  }

  every(ms: number, fn: (now: number) => void): Cancel {
    return this.add({ due: this.clock.time + ms, every: Math.max(1, ms), fn, order: 0 });
  }

  after(ms: number, fn: (now: number) => void): Cancel {
    return this.add({ due: this.clock.time + Math.max(0, ms), every: undefined, fn, order: 0 });
  }

  close(): void {
    this.closed = true;
    this.timers.clear();
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves the clock `ms` forward, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.clock.time + ms;
    for (let next = this.nextDue(end); next; next = this.nextDue(end)) {
      this.clock.time = next.due;
      if (next.every === undefined) this.timers.delete(next);
      else next.due += next.every;
      next.fn(this.clock.time);
    }
    this.clock.time = end;
  }

  private add(timer: Timer): Cancel {
    if (this.closed) return () => {};
    timer.order = this.scheduled++;
    this.timers.add(timer);
    return () => void this.timers.delete(timer);
  }

  private nextDue(end: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) if (t.due <= end && (!best || t.due < best.due || (t.due === best.due && t.order < best.order))) best = t;
    return best;
  }
}
