import type { ParticipantRecord, RoomRecord, StoredRoom } from "./model.ts";

const ROOM_KEY = "room";
const PARTICIPANT_PREFIX = "p:";
const participantKey = (id: string) => `${PARTICIPANT_PREFIX}${id}`;

/** A room's records in its Durable Object's storage: the only code that knows their keys. */
export class RoomStore {
  constructor(private readonly storage: DurableObjectStorage) {}

  async load(): Promise<StoredRoom> {
    const room = (await this.storage.get<RoomRecord>(ROOM_KEY)) ?? null;
    const participants = await this.storage.list<ParticipantRecord>({ prefix: PARTICIPANT_PREFIX });
    return { room, participants: [...participants.values()] };
  }

  putRoom(room: RoomRecord): Promise<void> {
    return this.storage.put(ROOM_KEY, room);
  }

  putParticipant(p: ParticipantRecord): Promise<void> {
    return this.storage.put(participantKey(p.id), p);
  }

  async deleteParticipant(id: string): Promise<void> {
    await this.storage.delete(participantKey(id));
  }

  setAlarm(at: number): Promise<void> {
    return this.storage.setAlarm(at);
  }

  /** Deletes the room's records and its alarm. */
  async clear(): Promise<void> {
    await this.storage.deleteAlarm();
    await this.storage.deleteAll();
  }
}
