/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01)
 * from a load-generator subscriber, as a browser sends it: one feedback stream per transport, every
 * 100 ms, reporting every sequence number since the last report as received (with its arrival time)
 * or lost. werift 0.24's own ReceiverTWCC was not usable here: its messages are malformed (mediasoup
 * logs "not enough space for deltas" for each and its estimate never moves), and it runs one per
 * m-line, each reporting the others' packets wrongly.
 */
import { performance } from "node:perf_hooks";

const INTERVAL_MS = 100;
/** Most sequence numbers in one message; older unreported ones are dropped (a stall on the generator). */
const MAX_STATUSES = 2000;

export interface RtcpSender {
  sendRtcp(packets: Array<{ serialize(): Buffer }>): Promise<unknown>;
}

export class TwccFeedback {
  /** Arrival time (µs, performance clock) by unwrapped transport-wide sequence number. */
  private readonly arrivals = new Map<number, number>();
  private highest: number | undefined;
  private nextBase: number | undefined;
  private fbCount = 0;
  private timer: NodeJS.Timeout;
  mediaSsrc = 0;

  constructor(
    private readonly transport: RtcpSender,
    private readonly senderSsrc = (Math.random() * 0xffffffff) >>> 0,
  ) {
    // Spread the subscribers' feedback over the interval.
    this.timer = setTimeout(() => {
      this.flush();
      this.timer = setInterval(() => this.flush(), INTERVAL_MS).unref();
    }, Math.random() * INTERVAL_MS).unref();
  }

  add(tsn16: number, mediaSsrc: number): void {
    const now = performance.now() * 1000;
    this.mediaSsrc ||= mediaSsrc;
    let seq = tsn16;
    if (this.highest !== undefined) {
      const delta = ((tsn16 - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      seq = this.highest + delta;
    }
    if (this.highest === undefined || seq > this.highest) this.highest = seq;
    this.nextBase ??= seq;
    if (seq < this.nextBase) return; // already reported as lost
    if (!this.arrivals.has(seq)) this.arrivals.set(seq, now);
  }

  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
  }

  private flush(): void {
    if (this.highest === undefined || this.nextBase === undefined || this.arrivals.size === 0) return;
    let base = this.nextBase;
    const top = this.highest;
    if (top - base + 1 > MAX_STATUSES) {
      base = top - MAX_STATUSES + 1;
      for (const k of this.arrivals.keys()) if (k < base) this.arrivals.delete(k);
    }
    const count = top - base + 1;
    const firstArrival = Math.min(...[...this.arrivals.values()]);
    const reference = Math.floor(firstArrival / 64_000);
    let prev = reference * 64_000;
    const statuses: number[] = [];
    const deltas: Buffer[] = [];
    for (let seq = base; seq <= top; seq++) {
      const at = this.arrivals.get(seq);
      if (at === undefined) {
        statuses.push(0);
        continue;
      }
      let d = Math.round((at - prev) / 250);
      if (d >= 0 && d <= 255) {
        statuses.push(1);
        deltas.push(Buffer.from([d]));
      } else {
        d = Math.max(-32768, Math.min(32767, d));
        statuses.push(2);
        const b = Buffer.alloc(2);
        b.writeInt16BE(d);
        deltas.push(b);
      }
      prev += d * 250;
    }
    // Two-bit status vector chunks, seven statuses each (the last padded with "not received").
    const chunks = Buffer.alloc(2 * Math.ceil(count / 7));
    for (let c = 0; c < chunks.length / 2; c++) {
      let v = 0xc000;
      for (let k = 0; k < 7; k++) v |= (statuses[c * 7 + k] ?? 0) << (12 - 2 * k);
      chunks.writeUInt16BE(v, 2 * c);
    }
    const body = Buffer.concat([chunks, ...deltas]);
    const unpadded = 20 + body.length;
    const pad = (4 - (unpadded % 4)) % 4;
    const packet = Buffer.alloc(unpadded + pad);
    packet[0] = 0x80 | (pad ? 0x20 : 0) | 15; // V=2, P, FMT=15
    packet[1] = 205; // RTPFB
    packet.writeUInt16BE(packet.length / 4 - 1, 2);
    packet.writeUInt32BE(this.senderSsrc, 4);
    packet.writeUInt32BE(this.mediaSsrc >>> 0, 8);
    packet.writeUInt16BE(base & 0xffff, 12);
    packet.writeUInt16BE(count, 14);
    packet.writeUIntBE(reference & 0xffffff, 16, 3);
    packet[19] = this.fbCount & 0xff;
    body.copy(packet, 20);
    if (pad) packet[packet.length - 1] = pad;
    this.fbCount++;
    this.arrivals.clear();
    this.nextBase = top + 1;
    this.transport.sendRtcp([{ serialize: () => packet }]).catch(() => undefined);
  }
}
