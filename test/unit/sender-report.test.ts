import { randomBytes } from "node:crypto";
import type { RTCPeerConnection, RTCRtpSender, RtcpPacket, RtcpSrPacket } from "werift";
import { describe, expect, it } from "vitest";
import { OutStream, RtpEgress } from "../../media-node/src/egress/rtp-egress.ts";
import { ntpTimestamp, senderReportTimestamps } from "../../media-node/src/egress/sender-report.ts";
import { SRTP_AEAD_AES_128_GCM } from "../../media-node/src/egress/srtp-protector.ts";
import { ManualClock, ManualScheduler } from "../../media-node/src/manual-scheduler.ts";

const NTP_SECOND = 2n ** 32n;
/** An NTP timestamp as milliseconds (exact enough for whole-millisecond differences). */
const ntpMs = (ntp: bigint) => Number((ntp * 1000n + NTP_SECOND / 2n) / NTP_SECOND);

/**
 * A connected subscriber transport as the egress sees it: SRTP keys, a selected pair whose socket
 * swallows what is sent, and an RTCP sender that records the reports.
 */
function connectedPc(reports: RtcpPacket[]): RTCPeerConnection {
  const dtls = {
    state: "connected",
    srtp: { localContext: { profile: SRTP_AEAD_AES_128_GCM, srtpSessionKey: randomBytes(16), srtpSessionSalt: randomBytes(12) } },
    iceTransport: { connection: { nominated: { remoteAddr: ["127.0.0.1", 9], protocol: { transport: { socket: { send: () => {} } } } } } },
    onRtcp: { subscribe: () => ({ unSubscribe: () => {} }) },
    sendRtcp: async (packets: RtcpPacket[]) => void reports.push(...packets),
  };
  return { dtlsTransports: [dtls] } as unknown as RTCPeerConnection;
}

const sender = (ssrc: number, clockRate: number) => ({ ssrc, codec: { payloadType: 111, clockRate }, cname: "sfu" }) as unknown as RTCRtpSender;

describe("sender reports", () => {
  it("take the NTP and RTP timestamps from one clock instant: two reports Δ apart advance both by Δ", () => {
    // The clock starts far from the wall-clock epoch, as a monotonic clock does.
    const scheduler = new ManualScheduler(new ManualClock(5_000, 1_750_000_000_000));
    const reports: RtcpPacket[] = [];
    const egress = new RtpEgress(connectedPc(reports), scheduler);
    const stream = new OutStream(egress, sender(4242, 48_000));
    // Opus: 20 ms packets, 960 ticks each, forwarded as they arrive.
    const firstTs = 4_294_900_000; // wraps between the two reports
    let seq = 0;
    const sentTs = new Map<number, number>();
    scheduler.every(20, (now) => {
      const ts = (firstTs + seq * 960) >>> 0;
      stream.send(Buffer.alloc(80), false, seq++ & 0xffff, ts, now);
      sentTs.set(now, ts);
    });
    egress.start();
    scheduler.advance(3_000);

    const srs = reports.filter((p): p is RtcpSrPacket => "senderInfo" in p);
    expect(srs.length).toBe(3);
    const [a, b] = srs.map((sr) => sr.senderInfo);
    // Reports go out at t = 6000 and 7000; both instants are packet instants, so the report's RTP
    // timestamp is exactly the timestamp of the packet forwarded at that instant.
    expect(a!.rtpTimestamp).toBe(sentTs.get(6_000));
    expect(b!.rtpTimestamp).toBe(sentTs.get(7_000));
    // Δ = 1000 ms: NTP advances by Δ, RTP by Δ·clockRate/1000 (mod 2^32).
    expect(ntpMs(b!.ntpTimestamp) - ntpMs(a!.ntpTimestamp)).toBe(1_000);
    expect((b!.rtpTimestamp - a!.rtpTimestamp) >>> 0).toBe(48_000);
    // The NTP timestamp is the wall-clock time of that same instant.
    expect(a!.ntpTimestamp).toBe(ntpTimestamp(1_750_000_000_000 + 6_000));
    expect(a!.packetCount).toBe(50);
    expect(b!.packetCount).toBe(100);
    // Closed, the egress sends no more reports.
    egress.close();
    scheduler.advance(5_000);
    expect(reports.filter((p) => "senderInfo" in p).length).toBe(3);
  });

  it("extrapolate the RTP timestamp from the last packet sent at the stream's clock rate", () => {
    const last = { lastTimestamp: 1_000, lastSentAt: 10_000 };
    const t = 10_040;
    const at = senderReportTimestamps(last, 90_000, t, 1_700_000_000_000);
    const later = senderReportTimestamps(last, 90_000, t + 250, 1_700_000_000_250);
    expect(at.rtp).toBe(1_000 + 40 * 90);
    expect(later.rtp - at.rtp).toBe(250 * 90);
    expect(later.ntp - at.ntp).toBe(NTP_SECOND / 4n);
  });
});
