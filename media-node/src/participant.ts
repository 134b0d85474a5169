import type { NodeContext } from "./node-context.ts";
import { Publisher } from "./publisher.ts";
import { Subscriber } from "./subscriber.ts";
import type { Track } from "./track.ts";

/** Where a participant's audio levels go (the room's active-speaker detection). */
export interface AudioLevelSink {
  observe(participantId: string, level: number, now: number): void;
}

/** Where a participant's app-data messages go (the room routes them). */
export interface DataSink {
  dataReceived(participantId: string, reliable: boolean, data: Uint8Array | string, now: number): void;
}

/**
 * A participant's two PeerConnections on this node, each opened when first needed. Closing it
 * closes both and, through the publisher, its tracks.
 */
export class Participant {
  private publisherPc: Publisher | undefined;
  private subscriberPc: Subscriber | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    readonly roomId: string,
    private readonly ctx: NodeContext,
    private readonly audioLevels: AudioLevelSink,
    private readonly data: DataSink,
  ) {}

  get publisher(): Publisher | undefined {
    return this.publisherPc;
  }

  get subscriber(): Subscriber | undefined {
    return this.subscriberPc;
  }

  /** The publisher PeerConnection, created if there is none yet. */
  openPublisher(): Publisher {
    this.assertOpen();
    this.publisherPc ??= new Publisher(this, this.ctx, this.audioLevels, this.data);
    return this.publisherPc;
  }

  /** Closes the publisher PeerConnection and its tracks (returns their ids); the next publish opens a fresh one. */
  closePublisher(): string[] {
    const removed = this.publisherPc?.close().map((t) => t.id) ?? [];
    this.publisherPc = undefined;
    return removed;
  }

  /** The subscriber PeerConnection, created if there is none yet. */
  openSubscriber(): Subscriber {
    this.assertOpen();
    this.subscriberPc ??= new Subscriber(this, this.ctx);
    return this.subscriberPc;
  }

  get tracks(): Track[] {
    return this.publisherPc ? [...this.publisherPc.tracks.values()] : [];
  }

  get trackCount(): number {
    return this.publisherPc?.tracks.size ?? 0;
  }

  /** Closes both PeerConnections; returns the ids of the tracks it published. */
  close(): string[] {
    if (this.closed) return [];
    this.closed = true;
    const removed = this.publisherPc?.close().map((t) => t.id) ?? [];
    this.subscriberPc?.close();
    return removed;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`participant ${this.id} is closed`);
  }
}
