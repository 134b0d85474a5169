import type { Cancel, Scheduler } from "./clock.ts";

/** Heartbeat intervals without a word from the edge after which its socket counts as dead. */
export const SILENT_HEARTBEATS = 3;

export interface EdgeSocketTimerHandlers {
  heartbeat(now: number): void;
  inventory(now: number): void;
  /** Nothing from the edge for `silentMs`: the socket is dead. */
  silent(silentMs: number): void;
}

/**
 * The timers of one socket to the edge, apart from the socket itself: from the welcome on, a
 * heartbeat every `heartbeatMs` and an inventory every `inventoryMs` (and one at once); at any
 * time, the edge called silent after three heartbeat intervals without a word.
 */
export class EdgeSocketTimers {
  private cancelSilence: Cancel | undefined;
  private stopHeartbeat: Cancel | undefined;
  private stopInventory: Cancel | undefined;
  private stopped = false;
  /** How many times the edge was heard on this socket. */
  heardCount = 0;

  constructor(
    private readonly scheduler: Scheduler,
    /** Until the welcome names its own: the interval the last welcome named, or the configured one. */
    private heartbeatMs: number,
    private readonly inventoryMs: number,
    private readonly handlers: EdgeSocketTimerHandlers,
  ) {}

  /** Anything from the edge (or the socket opening) proves it alive. */
  heard(): void {
    if (this.stopped) return;
    this.heardCount++;
    this.cancelSilence?.();
    const silentMs = SILENT_HEARTBEATS * this.heartbeatMs;
    this.cancelSilence = this.scheduler.after(silentMs, () => this.handlers.silent(silentMs));
  }

  /** The edge welcomed the node and named the heartbeat interval. */
  welcomed(heartbeatMs: number): void {
    if (this.stopped) return;
    this.heartbeatMs = heartbeatMs;
    this.stopHeartbeat?.();
    this.stopHeartbeat = this.scheduler.every(heartbeatMs, (now) => this.handlers.heartbeat(now));
    this.stopInventory?.();
    this.stopInventory = this.scheduler.every(this.inventoryMs, (now) => this.handlers.inventory(now));
    this.handlers.inventory(this.scheduler.clock.now());
    this.heard();
  }

  /** The socket closed: no more timers for it. */
  stop(): void {
    this.stopped = true;
    this.cancelSilence?.();
    this.stopHeartbeat?.();
    this.stopInventory?.();
  }
}
