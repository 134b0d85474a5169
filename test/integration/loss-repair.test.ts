import { RtpHeader, RtpPacket } from "werift";
import { describe, expect, it } from "vitest";
import { useSystem, useWeriftPeers } from "../support/hooks.ts";

const peers = useWeriftPeers(useSystem());

describe("loss between the node and a subscriber", () => {
  it("is repaired by NACK retransmission from the node, through the sequence rewriting", async () => {
    const room = `lossy-${Date.now()}`;
    const bob = await peers.join(room, "Bob", { subscriberLossPercent: 5 });
    const alice = await peers.join(room, "Alice");
    await alice.publish();
    await bob.subscriberConnected();

    const count = 600;
    for (let i = 0; i < count; i++) {
      const payload = Buffer.alloc(400, i & 0xff);
      payload[0] = 0x10;
      payload.writeUInt32BE(i, 1);
      alice.video.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: i * 3000, marker: true, ssrc: 7 }), payload));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1500));

    const seen = new Set(bob.received.filter((r) => r.kind === "video").map((r) => r.packet.payload.readUInt32BE(1)));
    let nacks = 0;
    (await bob.subscriberPc.getStats()).forEach((s: { type: string; kind?: string; nackCount?: number }) => {
      if (s.type === "inbound-rtp" && s.kind === "video") nacks += s.nackCount ?? 0;
    });
    console.log(`[metric] 5 % injected loss: ${nacks} NACKs sent, ${seen.size}/${count} packets delivered after repair`);
    expect(nacks).toBeGreaterThan(0); // loss really was injected and noticed
    // 5 % of 600 dropped on the way in: without repair about 30 would be missing.
    expect(seen.size).toBeGreaterThanOrEqual(count - 3);
  });
});
