import type { NodeLoad } from "@sfu/shared";
import { log } from "./log.ts";
import { Room } from "./room.ts";
import type { RtcNetwork } from "./webrtc.ts";

/** All rooms this process hosts. */
export class MediaNode {
  readonly rooms = new Map<string, Room>();
  private lastCpu = process.cpuUsage();
  private lastCpuAt = performance.now();

  constructor(
    private readonly net: RtcNetwork,
    private readonly events: {
      /** A participant whose PeerConnection failed has been freed. */
      participantFailed(roomId: string, participantId: string): void;
      /** The room's loudest participant changed (null: nobody is speaking). */
      speakerChanged(roomId: string, participantId: string | null): void;
      /** Dynacast: the simulcast layers of a published track that someone needs changed. */
      layerDemand?(roomId: string, participantId: string, trackId: string, rids: string[]): void;
    } = { participantFailed: () => {}, speakerChanged: () => {} },
  ) {}

  room(id: string): Room {
    let room = this.rooms.get(id);
    if (!room) {
      room = new Room(id, this.net, (r, p) => {
        // A failed PeerConnection cannot recover here: free it, and let the room have the browser publish again.
        log("warn", "participant connection failed", { room: r.id, participant: p.id });
        this.removeParticipant(r.id, p.id);
        this.events.participantFailed(r.id, p.id);
      }, (r, speaker) => this.events.speakerChanged(r.id, speaker), (r, pid, trackId, rids) => this.events.layerDemand?.(r.id, pid, trackId, rids));
      this.rooms.set(id, room);
    }
    return room;
  }

  existingRoom(id: string): Room | undefined {
    return this.rooms.get(id);
  }

  removeParticipant(roomId: string, participantId: string): string[] {
    const room = this.rooms.get(roomId);
    if (!room) return [];
    const removed = room.removeParticipant(participantId);
    if (room.participants.size === 0) {
      room.close();
      this.rooms.delete(roomId);
    }
    return removed;
  }

  /** Frees a whole room (it moved to another node while this one was away from the edge). */
  closeRoom(id: string): void {
    this.rooms.get(id)?.close();
    this.rooms.delete(id);
  }

  counts(): Omit<NodeLoad, "cpu"> {
    let participants = 0;
    let tracks = 0;
    for (const room of this.rooms.values()) {
      participants += room.participants.size;
      tracks += room.trackCount;
    }
    return { rooms: this.rooms.size, participants, tracks };
  }

  /** Load for the heartbeat; CPU is the process's share of one core since the previous call. */
  load(): NodeLoad {
    const now = performance.now();
    const usage = process.cpuUsage(this.lastCpu);
    const cpu = now > this.lastCpuAt ? (usage.user + usage.system) / 1000 / (now - this.lastCpuAt) : 0;
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    return { ...this.counts(), cpu: Math.min(1024, Math.max(0, cpu)) };
  }

  close(): void {
    for (const room of this.rooms.values()) room.close();
    this.rooms.clear();
  }
}
