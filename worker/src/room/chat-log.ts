import { CHAT_BURST, CHAT_RATE_PER_S, fullBucket, MAX_CHAT_HISTORY, takeTokens, type Bucket, type BucketLimits, type ChatMessage } from "@sfu/shared";
import { RoomError } from "./model.ts";

const CHAT_LIMITS: BucketLimits = { ratePerS: CHAT_RATE_PER_S, burst: CHAT_BURST };

/**
 * The room's chat: the last MAX_CHAT_HISTORY messages, oldest first, and each participant's
 * allowance (a token bucket, as for a socket's frames, but per participant so a second socket
 * does not double it). Sans-IO: `now` comes in. A message's id is its place in the room's
 * sequence (so storage keeps them in order, even two posted within one millisecond). The
 * allowances live in memory only: an object that restarts forgives a little, not worth storing.
 */
export class ChatLog {
  private readonly messages: ChatMessage[];
  private readonly allowances = new Map<string, Bucket>();
  private lastSeq: number;

  constructor(stored: readonly ChatMessage[] = []) {
    this.messages = [...stored].sort((a, b) => chatSeq(a) - chatSeq(b)).slice(-MAX_CHAT_HISTORY);
    this.lastSeq = this.messages.length ? chatSeq(this.messages[this.messages.length - 1]!) : 0;
  }

  /** Oldest first. */
  get history(): readonly ChatMessage[] {
    return this.messages;
  }

  /** Adds a message, or refuses it with `rate-limited`. `evicted`: what fell off the end of the history. */
  post(sender: { id: string; name: string }, text: string, now: number): { message: ChatMessage; evicted: ChatMessage[] } {
    const { bucket, allowed } = takeTokens(this.allowances.get(sender.id) ?? fullBucket(now, CHAT_LIMITS), 1, now, CHAT_LIMITS);
    this.allowances.set(sender.id, bucket);
    if (!allowed) throw new RoomError("rate-limited", `chat is limited to ${CHAT_BURST} messages at once and ${CHAT_RATE_PER_S} a second after that; wait a moment`);
    const message: ChatMessage = { id: String(++this.lastSeq), from: sender.id, name: sender.name, text, at: now };
    this.messages.push(message);
    return { message, evicted: this.messages.splice(0, Math.max(0, this.messages.length - MAX_CHAT_HISTORY)) };
  }

  /** The participant left: its allowance goes (its messages stay in the history). */
  forget(participantId: string): void {
    this.allowances.delete(participantId);
  }
}

/** A message's place in its room's sequence (1, 2, …). */
export function chatSeq(message: ChatMessage): number {
  return Number(message.id);
}
