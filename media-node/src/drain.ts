import type { Scheduler } from "./clock.ts";
import { log } from "./log.ts";

export interface DrainHandlers {
  /** Rooms the node still holds. */
  rooms(): number;
  /** Participants the node still holds (for the log). */
  participants(): number;
  /** Tells the edge the node is draining; false if it could not be told now. */
  tellEdge(): boolean;
  /** The drain began (the supervisor and health report it). */
  started(): void;
  /** Closes everything and exits with code 0. */
  exit(): void;
  /** Exits at once, rooms and all. */
  exitNow(): void;
}

/**
 * A node asked to stop stops taking work: the edge moves its rooms away (a `remove` per participant)
 * and the node exits once none are left, or at the timeout. A second signal exits at once.
 */
export class Drain {
  draining = false;
  private done = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly timeoutMs: number,
    private readonly handlers: DrainHandlers,
  ) {}

  start(reason: string): void {
    if (this.draining) return;
    this.draining = true;
    this.handlers.started();
    const sent = this.handlers.tellEdge();
    log("info", "draining", { reason, rooms: this.handlers.rooms(), participants: this.handlers.participants(), drainSent: sent, timeoutMs: this.timeoutMs });
    this.check();
    if (this.done) return;
    this.scheduler.after(this.timeoutMs, () => {
      if (this.done) return;
      log("warn", "drain timed out; exiting with rooms still held", { rooms: this.handlers.rooms(), timeoutMs: this.timeoutMs });
      this.exit();
    });
  }

  /** SIGTERM or SIGINT: the first drains, a second exits now. */
  signal(signal: string): void {
    if (!this.draining) return this.start(signal);
    log("warn", "second signal: exiting now", { signal, rooms: this.handlers.rooms() });
    this.handlers.exitNow();
  }

  /** A room closed; checked once the request that freed it has been answered. */
  roomClosed(): void {
    if (this.draining) this.scheduler.after(0, () => this.check());
  }

  private check(): void {
    if (this.done || this.handlers.rooms() > 0) return;
    log("info", "drained: no rooms left; exiting");
    this.exit();
  }

  private exit(): void {
    this.done = true;
    this.handlers.exit();
  }
}
