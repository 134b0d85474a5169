import type { ChatMessage } from "@sfu/shared";
import { chatSeq } from "./chat-log.ts";
import type { ParticipantRecord, RoomRecord, StoredRoom } from "./model.ts";

const ROOM_KEY = "room";
const PARTICIPANT_PREFIX = "p:";
const participantKey = (id: string) => `${PARTICIPANT_PREFIX}${id}`;
const CHAT_PREFIX = "c:";
/** Zero-padded, so that storage lists them in order. */
const chatKey = (m: ChatMessage) => `${CHAT_PREFIX}${String(chatSeq(m)).padStart(12, "0")}`;

/** A room's records in its Durable Object's storage: the only code that knows their keys. */
export class RoomStore {
  constructor(private readonly storage: DurableObjectStorage) {}

  async load(): Promise<StoredRoom> {
    const room = (await this.storage.get<RoomRecord>(ROOM_KEY)) ?? null;
    const participants = await this.storage.list<ParticipantRecord>({ prefix: PARTICIPANT_PREFIX });
    const chat = await this.storage.list<ChatMessage>({ prefix: CHAT_PREFIX });
    return { room, participants: [...participants.values()], chat: [...chat.values()] };
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

  async putChat(message: ChatMessage, evicted: readonly ChatMessage[]): Promise<void> {
    await this.storage.put(chatKey(message), message);
    if (evicted.length) await this.storage.delete(evicted.map(chatKey));
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
