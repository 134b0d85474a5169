/**
 * TURN credentials in coturn's REST API scheme (`use-auth-secret` + `static-auth-secret`, also
 * draft-uberti-behave-turn-rest): username = `<unix expiry seconds>:<id>`, credential =
 * base64(HMAC-SHA1(secret, username)). The TURN server recomputes the credential from the username
 * with the same secret and refuses it once the expiry has passed (checked when a browser
 * authenticates a new allocation, i.e. for each new PeerConnection). WebCrypto only, so it runs in workerd and Node alike.
 */
import type { IceServer } from "./room-protocol.ts";

const encoder = new TextEncoder();

function toBase64(buf: ArrayBuffer): string {
  let binary = "";
  for (const b of new Uint8Array(buf)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * One ICE server entry for `urls`, valid for `ttlSeconds` from `nowMs` (unix ms). `id` names the
 * user in the TURN server's logs (we use the participant id); it must not be empty.
 */
export async function turnCredentials(
  secret: string,
  urls: readonly string[],
  id: string,
  ttlSeconds: number,
  nowMs: number,
): Promise<IceServer & { username: string; credential: string }> {
  if (!secret) throw new Error("TURN secret is empty");
  if (!id) throw new Error("TURN user id is empty");
  const expiry = Math.floor(nowMs / 1000) + Math.floor(ttlSeconds);
  const username = `${expiry}:${id}`;
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const credential = toBase64(await crypto.subtle.sign("HMAC", key, encoder.encode(username)));
  return { urls: [...urls], username, credential };
}
