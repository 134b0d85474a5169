/**
 * The signaling socket to the room: opens it (join, or resume after a drop), parses what the room
 * sends, hands it on one message at a time, and reconnects with backoff when the socket drops.
 */
import { clientMessage, CloseCode, describeIssue, ServerMessage, type ClientMessageBody } from "@sfu/shared/room-protocol";
import { showConnection } from "./page.ts";
import { mark } from "./timeline.ts";

/** Closes that end the visit (anything else is a drop to recover from), in plain words. */
const FINAL_CLOSES = new Map<number, string>([
  [CloseCode.unsupportedVersion, "Please reload: the app is out of date."],
  [CloseCode.replaced, "You rejoined this room from another window."],
  [CloseCode.roomClosed, "The room was closed."],
  [CloseCode.kicked, "You were removed from the room."],
  // Reconnecting would replace the other session, which would replace this one again: no loop.
  [CloseCode.identityReplaced, "You joined this room again in another tab or device."],
  [CloseCode.policyViolation, "The room closed the connection: too many bad messages. Please reload."],
]);
/** Closed this many times in a row without ever being admitted: the room refuses us. */
const REFUSALS = 3;
const MAX_RECONNECT_DELAY_MS = 4000;

export interface SignalingHost {
  /** The first message on every new socket: join, or resume after a drop. */
  greeting(): ClientMessageBody;
  /** Whether the room has admitted us (until then, closes count as refusals). */
  admitted(): boolean;
  receive(msg: ServerMessage): Promise<void>;
  /** Why the room keeps refusing our socket, in plain words (the browser is not told why). */
  refusedWords(): string;
  /** The room ended this visit or refuses it, for `reason` (in plain words). */
  ended(reason: string): void;
  fail(err: unknown): void;
}

export class Signaling {
  #ws: WebSocket;
  #reconnects = 0;
  #closed = false;
  /** One message at a time: each may await SDP work that the next one depends on. */
  #inbox = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly host: SignalingHost,
  ) {
    this.#ws = this.#connect();
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Sends a message if the socket is open (one sent while it is down is lost: the room resyncs us on resume). */
  send(body: ClientMessageBody): void {
    if (this.open) this.#ws.send(JSON.stringify(clientMessage(body)));
  }

  /** The room took us in: the next drop reconnects without delay. */
  admittedNow(): void {
    this.#reconnects = 0;
  }

  /** Drops the socket as a network blip would (a test hook: the app reconnects and resumes). */
  drop(): void {
    this.#ws.close(3000, "test: dropped");
  }

  close(): void {
    this.#closed = true;
    this.#ws.close();
  }

  #connect(): WebSocket {
    const ws = new WebSocket(this.url);
    ws.onopen = () => {
      mark("signaling open");
      this.send(this.host.greeting());
    };
    ws.onmessage = (e: MessageEvent<unknown>) => {
      const msg = parse(e.data);
      // When a negotiation message arrived (it may then wait in the inbox behind earlier ones).
      if (msg?.type === "subscriber-offer" || msg?.type === "publish-answer" || msg?.type === "joined") mark(`${msg.type} arrived`);
      if (msg) this.#inbox = this.#inbox.then(() => this.host.receive(msg)).catch((err: unknown) => this.host.fail(err));
    };
    ws.onclose = (e) => {
      if (this.#closed || ws !== this.#ws) return;
      const final = FINAL_CLOSES.get(e.code);
      // Never admitted at all, several times over: the link's token is invalid or expired.
      const refused = !this.host.admitted() && this.#reconnects >= REFUSALS ? this.host.refusedWords() : undefined;
      if (final || refused) {
        // Kicked, replaced, the room was closed, or this app is too old: this visit is over.
        this.host.ended(final ?? refused ?? "");
        return;
      }
      // The socket dropped: media keeps flowing meanwhile; reconnect with backoff and resume.
      const delay = Math.min(MAX_RECONNECT_DELAY_MS, 250 * 2 ** this.#reconnects++);
      showConnection("reconnecting", `reconnecting in ${(delay / 1000).toFixed(1)} s…`);
      mark("signaling lost");
      setTimeout(() => {
        if (!this.#closed) this.#ws = this.#connect();
      }, delay);
    };
    return ws;
  }
}

/** A message from the room, or null (logged) for one this app does not understand. */
function parse(data: unknown): ServerMessage | null {
  let json: unknown;
  try {
    json = JSON.parse(String(data));
  } catch {
    console.warn("ignored a message from the room that is not JSON");
    return null;
  }
  const parsed = ServerMessage.safeParse(json);
  if (parsed.success) return parsed.data;
  console.warn(describeIssue("ignored a message from the room", parsed.error));
  return null;
}
