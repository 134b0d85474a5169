/**
 * Hostile publish offers, as text: valid enough for werift, as small as SDP allows, so that
 * hundreds of m-sections fit in one signaling message (64 KiB).
 */

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, "0")).join(":");

/**
 * An offer with `sections` sendonly Opus m-sections (mids 0, 1, …) bundled on one transport; ICE and
 * DTLS parameters at session level, each m-section four lines.
 */
export function mLineBomb(sections: number): string {
  const mids = Array.from({ length: sections }, (_, i) => String(i));
  const session = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    `a=group:BUNDLE ${mids.join(" ")}`,
    "a=ice-ufrag:bomb",
    "a=ice-pwd:bombbombbombbombbombbomb",
    `a=fingerprint:sha-256 ${FINGERPRINT}`,
    "a=setup:actpass",
  ];
  const media = mids.flatMap((mid) => [`m=audio 9 UDP/TLS/RTP/SAVPF 111`, `a=mid:${mid}`, "a=sendonly", "a=rtpmap:111 opus/48000/2"]);
  return [...session, ...media, ""].join("\r\n");
}

/** One video m-section offering `rids` simulcast layers (a=rid lines and a=simulcast). */
export function simulcastOffer(rids: number): string {
  const ids = Array.from({ length: rids }, (_, i) => `r${i}`);
  return [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=ice-ufrag:rids",
    "a=ice-pwd:ridsridsridsridsridsrids",
    `a=fingerprint:sha-256 ${FINGERPRINT}`,
    "a=setup:actpass",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=mid:0",
    "a=sendonly",
    "a=rtpmap:96 VP8/90000",
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    ...ids.map((id) => `a=rid:${id} send`),
    `a=simulcast:send ${ids.join(";")}`,
    "",
  ].join("\r\n");
}
