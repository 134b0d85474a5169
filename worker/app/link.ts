/**
 * What the page's address says, and what it may say. A room link carries the room and nothing
 * personal: whoever opens a link someone shared must not join as them. A name (`?name=`) or token
 * (`?token=`) a link was opened with is read once and removed from the address bar at once; the
 * token stays with this tab (sessionStorage) so a reload rejoins with it, and the name is
 * remembered on this device for the next lobby.
 */

const TOKEN_KEY = (room: string) => `sfu.token.${room}`;
const NAME_KEY = "sfu.name";

export interface OpenedLink {
  /** The room in the path ("" on the lobby's own address). */
  room: string;
  /** A name to join with at once (an automation or kiosk link); never put back in the address. */
  name: string | null;
  /** `?relay=1`: all media through the TURN relay. Not personal, so it stays in the address. */
  relayOnly: boolean;
}

/** Reads the link the page was opened with, and takes the personal parts out of the address bar. */
export function openLink(): OpenedLink {
  const params = new URLSearchParams(location.search);
  const room = decodeURIComponent(location.pathname.slice(1));
  const token = params.get("token");
  if (room && token) stored(sessionStorage, (s) => s.setItem(TOKEN_KEY(room), token));
  const name = params.get("name");
  if (token !== null || name !== null) history.replaceState(history.state, "", addressOf(room, params));
  return { room, name, relayOnly: params.get("relay") === "1" };
}

/** The address while in `room`: the room only (plus non-personal options such as relay). */
export function showRoomAddress(room: string): void {
  const next = addressOf(room, new URLSearchParams(location.search));
  if (location.pathname + location.search !== next) history.pushState(null, "", next);
}

/** The link to send to others: this origin and the room, nothing else. */
export function inviteLink(room: string): string {
  return `${location.origin}/${encodeURIComponent(room)}`;
}

/** A token this tab was given for `room` by a link, if any. */
export function linkToken(room: string): string | null {
  return stored(sessionStorage, (s) => s.getItem(TOKEN_KEY(room))) ?? null;
}

/** The tab no longer uses the link's token for `room` (it expired). */
export function forgetLinkToken(room: string): void {
  stored(sessionStorage, (s) => s.removeItem(TOKEN_KEY(room)));
}

/**
 * What a room token says of itself: when it stops being valid (ms since the epoch; null when it
 * does not say) and whether it lets us publish (true when it does not say). Only for the app's
 * choices and words: the room verifies every token.
 */
export function tokenClaims(token: string): { expiry: number | null; canPublish: boolean } {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: unknown; grants?: { canPublish?: unknown } };
    return { expiry: typeof claims.exp === "number" ? claims.exp * 1000 : null, canPublish: claims.grants?.canPublish !== false };
  } catch {
    return { expiry: null, canPublish: true };
  }
}

/** Plain words for a token that expired at `expiry`. */
export function expiredWords(expiry: number): string {
  return `This invitation link expired at ${new Date(expiry).toLocaleString()}. Ask whoever sent it for a new one.`;
}

export function rememberedName(): string {
  return stored(localStorage, (s) => s.getItem(NAME_KEY)) ?? "";
}

export function rememberName(name: string): void {
  stored(localStorage, (s) => s.setItem(NAME_KEY, name));
}

/** The address for `room` with the non-personal parts of `params` (never a token or a name). */
function addressOf(room: string, params: URLSearchParams): string {
  const kept = new URLSearchParams(params);
  kept.delete("token");
  kept.delete("name");
  const query = kept.toString();
  return `/${room ? encodeURIComponent(room) : ""}${query ? `?${query}` : ""}`;
}

/** Web storage can be switched off or full; the app then only forgets more. */
function stored<T>(storage: Storage, use: (s: Storage) => T): T | undefined {
  try {
    return use(storage);
  } catch {
    return undefined;
  }
}
