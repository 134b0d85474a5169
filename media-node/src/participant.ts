import { Publisher } from "./publisher.ts";
import { Subscriber } from "./subscriber.ts";
import type { RtcNetwork } from "./webrtc.ts";

/** A participant's two PeerConnections on this node. Closing it closes both and its tracks. */
export class Participant {
  private publisherPc: Publisher | undefined;
  private subscriberPc: Subscriber | undefined;

  constructor(
    readonly id: string,
    private readonly net: RtcNetwork,
    private readonly onFailed: (p: Participant) => void,
    private readonly onAudioLevel: (participantId: string, level: number, now: number) => void = () => {},
  ) {}

  get publisher(): Publisher {
    this.publisherPc ??= new Publisher(this.id, this.net, () => this.onFailed(this), (level, now) => this.onAudioLevel(this.id, level, now));
    return this.publisherPc;
  }

  get subscriber(): Subscriber {
    this.subscriberPc ??= new Subscriber(this.net, () => this.onFailed(this));
    return this.subscriberPc;
  }

  /** The subscriber PeerConnection if there is one (the getter above creates it). */
  get existingSubscriber(): Subscriber | undefined {
    return this.subscriberPc;
  }

  get tracks() {
    return this.publisherPc ? [...this.publisherPc.tracks.values()] : [];
  }

  close(): string[] {
    const removed = this.publisherPc?.close().map((t) => t.id) ?? [];
    this.subscriberPc?.close();
    this.publisherPc = undefined;
    this.subscriberPc = undefined;
    return removed;
  }
}
