/**
 * App data through the SFU: the two data channels of our publisher PeerConnection, both ways
 * (`_reliable`: ordered and retransmitted; `_lossy`: unordered, never retransmitted). Each message
 * goes to everyone else in the room or to named participants; see shared/src/data-packet.ts.
 */
import {
  DATA_CHANNEL_LABELS,
  decodeDataFrame,
  DeliveredDataHeader,
  encodeDataFrame,
  MAX_DATA_PAYLOAD_BYTES,
  type DataErrorCode,
} from "@sfu/shared/data-packet";

export interface DataMessage {
  from: string;
  payload: Uint8Array;
  reliable: boolean;
}

export interface DataRefusal {
  code: DataErrorCode;
  message: string;
}

export class AppData {
  #reliable: RTCDataChannel | null = null;
  #lossy: RTCDataChannel | null = null;
  onMessage: (message: DataMessage) => void = () => {};
  /** The node refused one of our messages (nothing of it was delivered). */
  onRefused: (refusal: DataRefusal) => void = () => {};

  /** Opens the two channels on a new publisher PeerConnection, before its offer. */
  openOn(pc: RTCPeerConnection): void {
    this.#reliable = this.#watch(pc.createDataChannel(DATA_CHANNEL_LABELS.reliable, { ordered: true }), true);
    this.#lossy = this.#watch(pc.createDataChannel(DATA_CHANNEL_LABELS.lossy, { ordered: false, maxRetransmits: 0 }), false);
  }

  /** Both channels are open: messages can go, and come. */
  get open(): boolean {
    return this.#reliable?.readyState === "open" && this.#lossy?.readyState === "open";
  }

  /**
   * Sends `payload` to everyone else in the room, or to the participants in `to`. False when the
   * channel is not open (yet); a RangeError over MAX_DATA_PAYLOAD_BYTES.
   */
  send(payload: Uint8Array, options: { reliable?: boolean; to?: string[] } = {}): boolean {
    if (payload.length > MAX_DATA_PAYLOAD_BYTES) throw new RangeError(`a data message is at most ${MAX_DATA_PAYLOAD_BYTES} bytes (this one is ${payload.length})`);
    const channel = options.reliable === false ? this.#lossy : this.#reliable;
    if (channel?.readyState !== "open") return false;
    channel.send(encodeDataFrame(options.to ? { to: options.to } : {}, payload));
    return true;
  }

  #watch(channel: RTCDataChannel, reliable: boolean): RTCDataChannel {
    channel.binaryType = "arraybuffer";
    channel.onmessage = (e: MessageEvent<unknown>) => this.#received(e.data, reliable);
    return channel;
  }

  #received(data: unknown, reliable: boolean): void {
    const decoded = data instanceof ArrayBuffer ? decodeDataFrame(new Uint8Array(data)) : null;
    const header = decoded?.ok ? DeliveredDataHeader.safeParse(decoded.header) : null;
    if (!decoded?.ok || !header?.success) return console.warn("ignored a data message that is not a frame from the node");
    if ("error" in header.data) return this.onRefused({ code: header.data.error, message: header.data.message });
    this.onMessage({ from: header.data.from, payload: decoded.payload, reliable });
  }
}
