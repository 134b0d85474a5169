/**
 * The browser app: join a room, publish camera + mic, show everyone else. Speaks the room protocol
 * of shared/src/room-protocol.ts. `/` is a lobby; `/<room>?name=Alice` joins directly.
 */
import type { ParticipantInfo, PcRole } from "@sfu/shared/room-protocol";
import { page, showNotice } from "./page.ts";
import { Session } from "./session.ts";
import type { EncodingStats, RemoteStats, SelectedPair } from "./stats.ts";
import { firstRemoteFrameMs, timeline } from "./timeline.ts";

const opened = new URLSearchParams(location.search);
/**
 * `?relay=1`: send all media through the TURN relay (iceTransportPolicy "relay"), as a network that
 * blocks direct UDP forces anyway; for testing a deployment's TURN server, or for users who want
 * the media server never to see their own address.
 */
const RELAY_ONLY = opened.get("relay") === "1";

let session: Session | null = null;

/**
 * The room token comes from the link (`?token=`, minted by the application) or, in local
 * development only, from the worker's /dev/token route, so that a plain room link works.
 */
async function roomToken(room: string, name: string): Promise<string> {
  // The link as it is now: the lobby replaces the one the page was opened with.
  const fromLink = new URLSearchParams(location.search).get("token");
  if (fromLink) return fromLink;
  const res = await fetch(`/dev/token?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error("This room needs an invitation link with a token.");
  return ((await res.json()) as { token: string }).token;
}

async function join(room: string, name: string): Promise<void> {
  page.lobby.hidden = true;
  page.notice.hidden = true;
  page.roomLabel.textContent = `room ${room}`;
  document.title = `${room} · Edge SFU`;
  try {
    session = new Session(room, name, await roomToken(room, name), RELAY_ONLY);
  } catch (err) {
    showNotice(err instanceof Error ? err.message : String(err));
    page.lobby.hidden = false;
  }
}

page.mic.onclick = () => void session?.toggle("audio");
page.cam.onclick = () => void session?.toggle("video");
page.leave.onclick = () => {
  session?.leave();
  session = null;
  page.lobby.hidden = false;
};
document.addEventListener("click", () => {
  for (const v of document.querySelectorAll("video")) if (v.paused) v.play().catch(() => {});
});
page.lobby.onsubmit = (e) => {
  e.preventDefault();
  const data = new FormData(page.lobby);
  const room = String(data.get("room"));
  const name = String(data.get("name"));
  history.pushState(null, "", `/${encodeURIComponent(room)}?name=${encodeURIComponent(name)}`);
  void join(room, name);
};
window.addEventListener("pagehide", () => session?.leave());

/** Test and debugging hook (window.__sfu): live state and getStats() summaries. */
export interface SfuHook {
  state(): { selfId: string | undefined; participants: ParticipantInfo[]; connection: string | undefined };
  remoteStats(): Promise<Record<string, RemoteStats>> | Record<string, never>;
  selectedCandidates(): Promise<Record<PcRole, SelectedPair | null>> | Record<string, never>;
  publisherStats(): Promise<EncodingStats[]> | never[];
  publishedLayers(): string[] | null;
  firstFrameMs(): number | null;
  timeline(): Array<[string, number]>;
  /** Drops the signaling socket as a network blip would (the app reconnects and resumes). */
  dropSignaling(): void;
}
const hook: SfuHook = {
  state: () => ({ selfId: session?.selfId, participants: session ? [...session.participants.values()] : [], connection: page.connection.dataset.state }),
  remoteStats: () => session?.remoteStats() ?? {},
  selectedCandidates: () => session?.selectedCandidates() ?? {},
  publisherStats: () => session?.publisherStats() ?? [],
  publishedLayers: () => session?.publishedLayers ?? null,
  firstFrameMs: firstRemoteFrameMs,
  timeline: () => timeline,
  dropSignaling: () => session?.dropSignaling(),
};
Object.assign(window, { __sfu: hook });

const roomFromPath = decodeURIComponent(location.pathname.slice(1));
const nameFromQuery = opened.get("name");
if (roomFromPath && nameFromQuery) void join(roomFromPath, nameFromQuery);
else {
  page.lobby.hidden = false;
  const roomInput = page.lobby.elements.namedItem("room");
  if (roomFromPath && roomInput instanceof HTMLInputElement) roomInput.value = roomFromPath;
}
