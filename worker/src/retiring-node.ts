/** After the last publisher has republished on the new node: time for subscribers to connect and get a keyframe there. */
export const SETTLE_MS = 8000;
/** The old node is freed by then in any case (well inside a node's DRAIN_TIMEOUT_MS). */
export const RETIRE_DEADLINE_MS = 15_000;

/**
 * A room's previous node while the room moves off it and it still forwards (a drain): the
 * participants' old PeerConnections keep carrying media until everyone has republished on the new
 * node and had time to connect there, and only then are they freed on the old node (make before
 * break). A participant who leaves meanwhile is freed at once.
 */
export class RetiringNode {
  private readonly waiting: Set<string>;
  private readonly remaining: Set<string>;
  private readonly settleMs: number;
  private readonly deadline: ReturnType<typeof setTimeout>;
  private settle: ReturnType<typeof setTimeout> | undefined;
  finished = false;

  /**
   * @param participants everyone the old node holds media for
   * @param publishers those of them whose republish the move waits for
   * @param free frees participants on the old node
   */
  constructor(
    readonly node: { id: string },
    participants: readonly string[],
    publishers: readonly string[],
    private readonly free: (node: { id: string }, participantIds: string[]) => void,
    timing: { settleMs?: number; deadlineMs?: number } = {},
  ) {
    this.remaining = new Set(participants);
    this.waiting = new Set(publishers);
    this.settleMs = timing.settleMs ?? SETTLE_MS;
    this.deadline = setTimeout(() => this.finish(), timing.deadlineMs ?? RETIRE_DEADLINE_MS);
    this.checkSettled();
  }

  /** Participants the old node still holds media for (not freed yet). */
  get holding(): string[] {
    return [...this.remaining];
  }

  republished(participantId: string): void {
    this.waiting.delete(participantId);
    this.checkSettled();
  }

  left(participantId: string): void {
    this.waiting.delete(participantId);
    if (this.remaining.delete(participantId)) this.free(this.node, [participantId]);
    this.checkSettled();
  }

  private checkSettled(): void {
    if (this.waiting.size === 0 && this.settle === undefined && !this.finished) this.settle = setTimeout(() => this.finish(), this.settleMs);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.deadline);
    if (this.settle !== undefined) clearTimeout(this.settle);
    this.free(this.node, [...this.remaining]);
    this.remaining.clear();
  }
}
