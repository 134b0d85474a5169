/**
 * The node's one source of time, read only at the I/O edge (a packet or message arrives, a timer
 * fires) and passed down as `now`: monotonic milliseconds with an arbitrary origin. Sender reports
 * need wall-clock time too; it comes from the same instant through an anchor taken once, so the
 * NTP and RTP timestamps of a report always describe the same moment.
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock time (Unix epoch, ms) of the monotonic instant `now`. */
  wallMs(now: number): number;
}

/** Cancels a scheduled callback; calling it again, or after the callback ran, does nothing. */
export type Cancel = () => void;

/** The node's timers: callbacks receive the clock's `now` at the moment they fire. */
export interface Scheduler {
  readonly clock: Clock;
  /** Runs `fn` every `ms` until cancelled. */
  every(ms: number, fn: (now: number) => void): Cancel;
  /** Runs `fn` once after `ms` unless cancelled. */
  after(ms: number, fn: (now: number) => void): Cancel;
  /** Cancels every timer still scheduled; later `every`/`after` calls schedule nothing. */
  close(): void;
}

export function systemClock(): Clock {
  const wallAtZero = Date.now() - performance.now();
  return { now: () => performance.now(), wallMs: (now) => wallAtZero + now };
}

/** Real timers (Node's setTimeout/setInterval). */
export class TimerScheduler implements Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(readonly clock: Clock = systemClock()) {}

  every(ms: number, fn: (now: number) => void): Cancel {
    if (this.closed) return noop;
    const timer = setInterval(() => fn(this.clock.now()), ms);
    return this.track(timer, () => clearInterval(timer));
  }

  after(ms: number, fn: (now: number) => void): Cancel {
    if (this.closed) return noop;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn(this.clock.now());
    }, ms);
    return this.track(timer, () => clearTimeout(timer));
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private track(timer: NodeJS.Timeout, clear: () => void): Cancel {
    this.timers.add(timer);
    return () => {
      clear();
      this.timers.delete(timer);
    };
  }
}

function noop(): void {}
