import type { NodeLoad } from "@sfu/shared";
import type { Scheduler } from "./clock.ts";
import { Emitter } from "./events.ts";
import { log } from "./log.ts";
import type { MediaNodeEvents, NodeContext } from "./node-context.ts";
import { Room } from "./room.ts";
import type { RtcNetwork } from "./webrtc.ts";

/**
 * All rooms this process hosts; the root of the ownership tree (MediaNode → Room → Participant →
 * Publisher/Subscriber → Track/Downstream). Closing it closes every room, each exactly once.
 */
export class MediaNode {
  readonly events = new Emitter<MediaNodeEvents>();
  private readonly byId = new Map<string, Room>();
  private readonly ctx: NodeContext;
  private lastCpu = process.cpuUsage();
  private lastCpuAt: number;
  private closed = false;

  /**
   * @param scheduler the node's one scheduler (and, through it, its one clock), owned by the caller.
   * @param capacity most participants the node holds (CAPACITY); the edge's requests for more are refused.
   */
  constructor(
    net: RtcNetwork,
    scheduler: Scheduler,
    readonly capacity = Number.POSITIVE_INFINITY,
  ) {
    this.ctx = { net, scheduler, events: this.events };
    this.lastCpuAt = scheduler.clock.now();
    this.events.on("connection-failed", ({ room, participantId }) => {
      // A failed PeerConnection cannot recover here: free it, and let the room have the browser publish again.
      if (!this.byId.get(room)?.participants.has(participantId)) return;
      log("warn", "participant connection failed", { room, participant: participantId });
      this.removeParticipant(room, participantId);
      this.events.emit("participant-failed", { room, participantId });
    });
  }

  get rooms(): ReadonlyMap<string, Room> {
    return this.byId;
  }

  /** The room, created if this node does not hold it yet. */
  openRoom(id: string): Room {
    if (this.closed) throw new Error("media node is closed");
    let room = this.byId.get(id);
    if (!room) {
      room = new Room(id, this.ctx);
      this.byId.set(id, room);
    }
    return room;
  }

  removeParticipant(roomId: string, participantId: string): string[] {
    const room = this.byId.get(roomId);
    if (!room) return [];
    const removed = room.removeParticipant(participantId);
    if (room.participants.size === 0) this.closeRoom(roomId);
    return removed;
  }

  /** Frees a whole room (e.g. it moved to another node while this one was away from the edge). */
  closeRoom(id: string): void {
    const room = this.byId.get(id);
    if (!room) return;
    this.byId.delete(id);
    room.close();
    this.events.emit("room-closed", { room: id });
  }

  /** It holds `capacity` participants: no new one is taken. */
  get full(): boolean {
    return this.counts().participants >= this.capacity;
  }

  /** Room id → ids of the participants held there: what the inventory reports. */
  held(): Map<string, string[]> {
    return new Map([...this.byId].map(([id, room]) => [id, [...room.participants.keys()]]));
  }

  counts(): Omit<NodeLoad, "cpu"> {
    let participants = 0;
    let tracks = 0;
    for (const room of this.byId.values()) {
      participants += room.participants.size;
      tracks += room.trackCount;
    }
    return { rooms: this.byId.size, participants, tracks };
  }

  /** Load for the heartbeat; CPU is the process's share of one core since the previous call. */
  load(now: number): NodeLoad {
    const usage = process.cpuUsage(this.lastCpu);
    const cpu = now > this.lastCpuAt ? (usage.user + usage.system) / 1000 / (now - this.lastCpuAt) : 0;
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    return { ...this.counts(), cpu: Math.min(1024, Math.max(0, cpu)) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.byId.keys()]) this.closeRoom(id);
  }
}
