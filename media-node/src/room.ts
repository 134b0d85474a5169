import { Participant } from "./participant.ts";
import type { Track } from "./track.ts";
import type { RtcNetwork } from "./webrtc.ts";

/** A room's share of this node: its participants and, through them, its tracks. */
export class Room {
  readonly participants = new Map<string, Participant>();

  constructor(
    readonly id: string,
    private readonly net: RtcNetwork,
    private readonly onParticipantFailed: (room: Room, p: Participant) => void,
  ) {}

  participant(id: string): Participant {
    let p = this.participants.get(id);
    if (!p) {
      p = new Participant(id, this.net, (failed) => this.onParticipantFailed(this, failed));
      this.participants.set(id, p);
    }
    return p;
  }

  /** Every published track in the room except those of `participantId`: what that participant receives. */
  tracksFor(participantId: string): Track[] {
    const out: Track[] = [];
    for (const p of this.participants.values()) if (p.id !== participantId) out.push(...p.tracks);
    return out;
  }

  removeParticipant(id: string): string[] {
    const p = this.participants.get(id);
    if (!p) return [];
    this.participants.delete(id);
    return p.close();
  }

  get trackCount(): number {
    let n = 0;
    for (const p of this.participants.values()) n += p.tracks.length;
    return n;
  }

  close(): void {
    for (const id of [...this.participants.keys()]) this.removeParticipant(id);
  }
}
