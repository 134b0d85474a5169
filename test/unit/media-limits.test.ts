import { MEDIA_LIMITS, publishOfferOverLimits, scanMediaSections } from "@sfu/shared";
import { MediaStreamTrack, RTCPeerConnection } from "werift";
import { describe, expect, it } from "vitest";
import { mLineBomb, simulcastOffer } from "../support/hostile-sdp.ts";

/** The shape of Chromium's publish offer from the app (payload types and attributes trimmed). */
const CHROMIUM_OFFER = [
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=msid-semantic: WMS",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=mid:0",
  "a=sendonly",
  "a=rtpmap:111 opus/48000/2",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
  "c=IN IP4 0.0.0.0",
  "a=mid:1",
  "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
  "a=sendonly",
  "a=rtpmap:96 VP8/90000",
  "a=rid:q send",
  "a=rid:h send",
  "a=rid:f send",
  "a=simulcast:send q;h;f",
  "",
].join("\r\n");

describe("scanning an offer's m-sections", () => {
  it("reads kind, direction and simulcast layers of each", () => {
    expect(scanMediaSections(CHROMIUM_OFFER)).toEqual([
      { kind: "audio", sending: true, rids: 0 },
      { kind: "video", sending: true, rids: 3 },
    ]);
  });

  it("takes the session's direction where an m-section has none, and counts every simulcast entry (alternatives, both directions)", () => {
    const sdp = ["v=0", "a=recvonly", "m=audio 9 RTP/AVP 0", "m=video 9 RTP/AVP 96", "a=sendrecv", "a=simulcast:send 1;2,3 recv 4", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=inactive"].join("\n");
    expect(scanMediaSections(sdp)).toEqual([
      { kind: "audio", sending: false, rids: 0 },
      { kind: "video", sending: true, rids: 4 },
      { kind: "application", sending: false, rids: 0 },
    ]);
  });

  it("stops after the number of sections asked for", () => {
    expect(scanMediaSections(mLineBomb(527), 9)).toHaveLength(9);
  });

  it("reads werift's own offer", async () => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" });
    pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    const offer = await pc.createOffer();
    await pc.close();
    expect(scanMediaSections(offer.sdp)).toEqual([
      { kind: "audio", sending: true, rids: 0 },
      { kind: "video", sending: true, rids: 0 },
      { kind: "video", sending: false, rids: 0 },
    ]);
  });
});

describe("the publish limits", () => {
  it("are 8 m-sections, 2 tracks of each kind and 3 simulcast layers", () => {
    expect(MEDIA_LIMITS).toEqual({ sections: 8, tracks: { audio: 2, video: 2 }, rids: 3 });
  });

  it("let the app's offer through", () => {
    expect(publishOfferOverLimits(CHROMIUM_OFFER)).toBeNull();
  });

  it.each([
    ["527 m-sections", mLineBomb(527), /at most 8 media sections/],
    ["9 m-sections", mLineBomb(9), /at most 8 media sections/],
    ["3 audio tracks", mLineBomb(3), /at most 2 audio tracks \(the offer has 3\)/],
    ["4 simulcast layers", simulcastOffer(4), /at most 3 simulcast layers \(the offer has 4\)/],
  ])("refuse %s, saying why", (_name, sdp, why) => {
    expect(publishOfferOverLimits(sdp)).toMatch(why);
  });

  it("count only sections that send as tracks, and every section against the section cap", () => {
    const receiving = (n: number) => ["v=0", ...Array.from({ length: n }, () => "m=audio 9 RTP/AVP 0\r\na=recvonly")].join("\r\n");
    expect(publishOfferOverLimits(receiving(8))).toBeNull();
    expect(publishOfferOverLimits(receiving(9))).toMatch(/media sections/);
  });

  it("take other limits when given", () => {
    expect(publishOfferOverLimits(mLineBomb(527), { sections: 1000, tracks: { audio: 1000, video: 0 }, rids: 0 })).toBeNull();
  });
});
