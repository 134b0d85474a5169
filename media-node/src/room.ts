import { ActiveSpeakerDetector } from "./forwarding/active-speaker.ts";
import { Participant } from "./participant.ts";
import type { Track } from "./track.ts";
import type { RtcNetwork } from "./webrtc.ts";

/** Active speaker and simulcast layers are re-evaluated this often. */
const SPEAKER_TICK_MS = 300;

/** A room's share of this node: its participants and, through them, its tracks; and who is speaking. */
export class Room {
  readonly participants = new Map<string, Participant>();
  private readonly speakers = new ActiveSpeakerDetector();
  private readonly speakerTimer: NodeJS.Timeout;

  constructor(
    readonly id: string,
    private readonly net: RtcNetwork,
    private readonly onParticipantFailed: (room: Room, p: Participant) => void,
    onSpeakerChanged: (room: Room, participantId: string | null) => void = () => {},
    onLayerDemand: (room: Room, participantId: string, trackId: string, rids: string[]) => void = () => {},
  ) {
    this.speakerTimer = setInterval(() => {
      const now = Date.now();
      const changed = this.speakers.tick(now);
      if (changed !== undefined) onSpeakerChanged(this, changed);
      // Simulcast: re-select layers and tell publishers which layers someone needs (dynacast).
      for (const p of this.participants.values()) {
        for (const track of p.tracks) {
          const rids = track.tick(now);
          if (rids) onLayerDemand(this, p.id, track.id, rids);
        }
      }
    }, SPEAKER_TICK_MS);
    this.speakerTimer.unref();
  }

  participant(id: string): Participant {
    let p = this.participants.get(id);
    if (!p) {
      p = new Participant(id, this.net, (failed) => this.onParticipantFailed(this, failed), (pid, level, now) => this.speakers.observe(pid, level, now));
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
    this.speakers.remove(id);
    return p.close();
  }

  get trackCount(): number {
    let n = 0;
    for (const p of this.participants.values()) n += p.tracks.length;
    return n;
  }

  close(): void {
    clearInterval(this.speakerTimer);
    for (const id of [...this.participants.keys()]) this.removeParticipant(id);
  }
}
