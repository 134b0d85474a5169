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
  if (token !== null || name !== null) {
    params.delete("token");
    params.delete("name");
    history.replaceState(history.state, "", addressOf(room, params));
  }
  return { room, name, relayOnly: params.get("relay") === "1" };
}

/** The address while in `room`: the room only (plus non-personal options such as relay). */
export function showRoomAddress(room: string): void {
  const params = new URLSearchParams(location.search);
  params.delete("token");
  params.delete("name");
  const next = addressOf(room, params);
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

export function rememberedName(): string {
  return stored(localStorage, (s) => s.getItem(NAME_KEY)) ?? "";
}

export function rememberName(name: string): void {
  stored(localStorage, (s) => s.setItem(NAME_KEY, name));
}

function addressOf(room: string, params: URLSearchParams): string {
  const query = params.toString();
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
