/**
 * The chat panel: the room's messages (the history a joiner gets, then each new one, kept by id so
 * a resume's history adds only what was missed), a box to post, and an unread count on the button
 * while the panel is closed. Messages go through the room, which confirms each by sending it back.
 */
import type { ChatMessage, ClientMessageBody } from "@sfu/shared/room-protocol";
import { MAX_CHAT_CHARS } from "@sfu/shared/room-protocol";
import { page } from "./page.ts";

export interface ChatHost {
  send(body: ClientMessageBody): void;
  selfId(): string;
}

const timeOf = (at: number) => new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

export class ChatPanel {
  readonly #seen = new Set<string>();
  #unread = 0;
  /** The text last posted, until the room confirms it (or refuses it, when it goes back in the box). */
  #posted: string | null = null;

  constructor(private readonly host: ChatHost) {
    page.chatInput.maxLength = MAX_CHAT_CHARS;
    page.chatToggle.onclick = () => this.#setOpen(page.chat.hidden === true);
    page.chatForm.onsubmit = (e) => {
      e.preventDefault();
      const text = page.chatInput.value.trim();
      if (!text) return;
      this.#posted = text;
      page.chatInput.value = "";
      page.chatStatus.textContent = "";
      this.host.send({ type: "chat", text });
    };
  }

  /** What the room said so far (on joining or resuming). It is not news: no unread count. */
  history(messages: readonly ChatMessage[]): void {
    for (const m of messages) this.#show(m);
  }

  received(message: ChatMessage): void {
    if (!this.#show(message)) return;
    const mine = message.from === this.host.selfId();
    if (mine && message.text === this.#posted) this.#posted = null;
    if (!mine && page.chat.hidden) this.#setUnread(this.#unread + 1);
  }

  /** The room refused what we posted (too fast, too long): say so, and give the text back. */
  refused(reason: string): void {
    page.chatStatus.textContent = reason;
    if (this.#posted !== null && !page.chatInput.value) page.chatInput.value = this.#posted;
    this.#posted = null;
    this.#setOpen(true);
  }

  /** The visit is over: the panel empties and closes. */
  close(): void {
    this.#seen.clear();
    page.chatMessages.replaceChildren();
    page.chatStatus.textContent = "";
    this.#setUnread(0);
    this.#setOpen(false);
  }

  #show(m: ChatMessage): boolean {
    if (this.#seen.has(m.id)) return false;
    this.#seen.add(m.id);
    const item = document.createElement("li");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = m.from === this.host.selfId() ? `${m.name} (you)` : m.name;
    const when = document.createElement("time");
    when.dateTime = new Date(m.at).toISOString();
    when.textContent = timeOf(m.at);
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = m.text;
    item.append(who, when, text);
    page.chatMessages.append(item);
    item.scrollIntoView({ block: "end" });
    return true;
  }

  #setOpen(open: boolean): void {
    page.chat.hidden = !open;
    page.chatToggle.setAttribute("aria-expanded", String(open));
    if (open) {
      this.#setUnread(0);
      page.chatInput.focus();
    }
  }

  #setUnread(n: number): void {
    this.#unread = n;
    page.chatUnread.textContent = String(n);
    page.chatUnread.hidden = n === 0;
    page.chatToggle.setAttribute("aria-label", n ? `Chat, ${n} unread` : "Chat");
  }
}
