import type { Cancel } from "./clock.ts";
import { ActiveSpeakerDetector } from "./forwarding/active-speaker.ts";
import { DataRouter } from "./forwarding/data-router.ts";
import { log } from "./log.ts";
import type { NodeContext } from "./node-context.ts";
import { Participant } from "./participant.ts";
import type { Track } from "./track.ts";

/** Active speaker and simulcast layers are re-evaluated this often. */
const SPEAKER_TICK_MS = 300;

/** A room's share of this node: its participants and, through them, its tracks; who is speaking; app data between them. */
export class Room {
  private readonly byId = new Map<string, Participant>();
  private readonly speakers = new ActiveSpeakerDetector();
  private readonly data = new DataRouter();
  private readonly stopTicking: Cancel;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly ctx: NodeContext,
  ) {
    this.stopTicking = ctx.scheduler.every(SPEAKER_TICK_MS, (now) => this.tick(now));
  }

  get participants(): ReadonlyMap<string, Participant> {
    return this.byId;
  }

  /** The participant, created if it is not in the room yet. */
  openParticipant(id: string): Participant {
    if (this.closed) throw new Error(`room ${this.id} is closed`);
    let p = this.byId.get(id);
    if (!p) {
      p = new Participant(id, this.id, this.ctx, this.speakers, this);
      this.byId.set(id, p);
    }
    return p;
  }

  /** Every published track in the room except those of `participantId`: what that participant receives. */
  tracksFor(participantId: string): Track[] {
    const out: Track[] = [];
    for (const p of this.byId.values()) if (p.id !== participantId) out.push(...p.tracks);
    return out;
  }

  /** Closes one participant; returns the ids of the tracks it published. */
  removeParticipant(id: string): string[] {
    const p = this.byId.get(id);
    if (!p) return [];
    this.byId.delete(id);
    this.speakers.remove(id);
    this.data.forget(id);
    return p.close();
  }

  get trackCount(): number {
    let n = 0;
    for (const p of this.byId.values()) n += p.trackCount;
    return n;
  }

  /** A participant's app-data message: to its recipients on the same kind of channel, or refused back to it. */
  dataReceived(from: string, reliable: boolean, data: Uint8Array | string, now: number): void {
    const route = this.data.route(from, data, new Set(this.byId.keys()), now);
    if (!route.ok) {
      log("debug", "app data refused", { room: this.id, participant: from, code: route.code });
      this.byId.get(from)?.publisher?.sendData(route.reply, true);
      return;
    }
    for (const id of route.to) this.byId.get(id)?.publisher?.sendData(route.frame, reliable);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTicking();
    for (const id of [...this.byId.keys()]) this.removeParticipant(id);
  }

  private tick(now: number): void {
    const changed = this.speakers.tick(now);
    if (changed !== undefined) this.ctx.events.emit("active-speaker", { room: this.id, participantId: changed });
    // Simulcast: re-select layers and tell publishers which layers someone needs (dynacast).
    for (const p of this.byId.values()) {
      for (const track of p.tracks) {
        const rids = track.tick(now);
        if (rids) this.ctx.events.emit("layer-demand", { room: this.id, participantId: p.id, trackId: track.id, rids });
      }
    }
  }
}
