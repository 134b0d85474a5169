import { serverMessage, type ServerMessageBody } from "@sfu/shared";
import { countBadFrame, freshAllowance, isAbusive, takeToken, type FrameAllowance } from "./frame-allowance.ts";
import type { Connected, Connection } from "./model.ts";

/**
 * A room's browser sockets (hibernation API). Each carries its Connection as its attachment, so
 * which participant it speaks for survives hibernation.
 */
export class RoomSockets {
  constructor(private readonly ctx: DurableObjectState) {}

  accept(ws: WebSocket, connection: Connection): void {
    this.ctx.acceptWebSocket(ws);
    ws.serializeAttachment(connection);
  }

  connection(ws: WebSocket): Connection {
    return ws.deserializeAttachment() as Connection;
  }

  /** Connected participants, as the open sockets say now. */
  connected(): Connected {
    return new Map([...this.byParticipant()].map(([id, ws]) => [id, this.connection(ws).connectionId]));
  }

  private byParticipant(): Map<string, WebSocket> {
    const map = new Map<string, WebSocket>();
    for (const ws of this.ctx.getWebSockets()) {
      const id = this.connection(ws).participantId;
      if (id) map.set(id, ws);
    }
    return map;
  }

  /** The socket of a connection: `known` when the caller holds it (it may have closed already), else an open one. */
  find(connectionId: string, known?: WebSocket): WebSocket | undefined {
    if (known && this.connection(known).connectionId === connectionId) return known;
    return this.ctx.getWebSockets().find((ws) => this.connection(ws).connectionId === connectionId);
  }

  /** Makes a socket speak for a participant (or for nobody), keeping the rest of its attachment. */
  bind(ws: WebSocket, participantId: string | null): void {
    ws.serializeAttachment({ ...this.connection(ws), participantId } satisfies Connection);
  }

  /** A message arrived on `ws`: whether it is within the socket's rate (it takes a token if so). */
  admitFrame(ws: WebSocket, now: number): boolean {
    const { allowance, allowed } = takeToken(this.allowance(ws, now), now);
    this.setAllowance(ws, allowance);
    return allowed;
  }

  /** `ws` sent a bad frame: whether it has now sent too many (see MAX_BAD_FRAMES). */
  badFrame(ws: WebSocket, now: number): boolean {
    const { allowance, abusive } = countBadFrame(this.allowance(ws, now), now);
    this.setAllowance(ws, allowance);
    return abusive;
  }

  /** Whether `ws` has sent too many bad frames already (it is being closed). */
  abusive(ws: WebSocket): boolean {
    return isAbusive(this.connection(ws).allowance);
  }

  private allowance(ws: WebSocket, now: number): FrameAllowance {
    return this.connection(ws).allowance ?? freshAllowance(now);
  }

  private setAllowance(ws: WebSocket, allowance: FrameAllowance): void {
    ws.serializeAttachment({ ...this.connection(ws), allowance } satisfies Connection);
  }

  send(ws: WebSocket, body: ServerMessageBody): void {
    try {
      ws.send(JSON.stringify(serverMessage(body)));
    } catch {
      // The socket closed under us; its close handler cleans up.
    }
  }

  /** To every socket that speaks for a participant, but `exceptId`'s. */
  broadcast(body: ServerMessageBody, exceptId?: string): void {
    for (const [id, ws] of this.byParticipant()) if (id !== exceptId) this.send(ws, body);
  }

  close(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // already closed
    }
  }
}
