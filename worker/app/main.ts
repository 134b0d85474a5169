/**
 * The browser app: join a room, publish camera + mic, show everyone else. Speaks the room protocol
 * of shared/src/room-protocol.ts. `/` is a lobby; `/<room>` is the lobby for that room (the invite
 * link); `/<room>?name=Alice` joins directly (the name is then taken out of the address, see link.ts).
 */
import type { ParticipantInfo, PcRole } from "@sfu/shared/room-protocol";
import { savePick, showDevices, useSpeaker, type DeviceKind } from "./devices.ts";
import { expiredWords, forgetLinkToken, inviteLink, linkToken, openLink, rememberedName, rememberName, showRoomAddress, tokenClaims } from "./link.ts";
import { page, showNotice } from "./page.ts";
import { getLocalMedia } from "./local-media.ts";
import { PreJoin } from "./prejoin.ts";
import { Session } from "./session.ts";
import type { DataRefusal } from "./data.ts";
import type { EncodingStats, RemoteStats, SelectedPair } from "./stats.ts";
import { firstRemoteFrameMs, mark, timeline } from "./timeline.ts";

/**
 * The link this page was opened with, its name and token already out of the address bar. Its
 * `?relay=1` sends all media through the TURN relay (iceTransportPolicy "relay"), as a network that
 * blocks direct UDP forces anyway; for testing a deployment's TURN server, or for users who want
 * the media server never to see their own address.
 */
mark("script run");
const opened = openLink();

let session: Session | null = null;

/**
 * The room token comes from the link this tab was opened with (`?token=`, minted by the
 * application) or, in local development only, from the worker's /dev/token route, so that a plain
 * room link works.
 */
async function roomToken(room: string, name: string): Promise<string> {
  const fromLink = linkToken(room);
  const expiry = fromLink ? tokenClaims(fromLink).expiry : null;
  if (expiry !== null && expiry <= Date.now()) {
    forgetLinkToken(room);
    throw new Error(expiredWords(expiry));
  }
  if (fromLink) return fromLink;
  const res = await fetch(`/dev/token?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error("This room needs an invitation link with a token.");
  const { token } = (await res.json()) as { token: string };
  mark("token fetched");
  return token;
}

const prejoin = new PreJoin();

/** The lobby, with the pre-join preview and the device pickers in it. */
function showLobby(): void {
  page.lobby.hidden = false;
  page.devicesPanel.hidden = true;
  page.lobbyDevices.append(page.devices);
  void prejoin.open();
}

/** Joins `room`; `fromLobby`: with the pre-join screen's camera and mic (else the call opens them). */
async function join(room: string, name: string, fromLobby: boolean): Promise<void> {
  const prejoined = fromLobby ? prejoin.take() : undefined;
  if (!fromLobby) prejoin.close();
  // Joining at once (a link with ?name=): camera and mic open while the token is fetched and the
  // room connects, not after. Not for a link whose token forbids publishing (a viewer's camera
  // stays off); a dev token always allows it.
  const fromLink = linkToken(room);
  const opening = !fromLobby && (!fromLink || tokenClaims(fromLink).canPublish) ? getLocalMedia() : undefined;
  opening?.catch(() => undefined);
  page.devicesPanel.append(page.devices);
  page.lobby.hidden = true;
  page.notice.hidden = true;
  page.roomLabel.textContent = `room ${room}`;
  document.title = `${room} · Edge SFU`;
  showRoomAddress(room);
  rememberName(name);
  page.inviteLink.value = inviteLink(room);
  try {
    const token = await roomToken(room, name);
    if (opening && !tokenClaims(token).canPublish) {
      void opening.then((s) => s?.getTracks().forEach((t) => t.stop()), () => undefined);
      session = new Session(room, name, token, opened.relayOnly, prejoined);
    } else session = new Session(room, name, token, opened.relayOnly, prejoined, opening);
    session.data.onMessage = ({ from, payload, reliable }) => receivedData.push({ from, text: new TextDecoder().decode(payload), reliable });
    session.data.onRefused = (refusal) => refusedData.push(refusal);
    session.onEnded = () => {
      session = null;
      showLobby();
    };
  } catch (err) {
    prejoined?.stream?.getTracks().forEach((t) => t.stop());
    if (!session) void opening?.then((s) => s?.getTracks().forEach((t) => t.stop()), () => undefined);
    showNotice(err instanceof Error ? err.message : String(err));
    showLobby();
  }
}

/** A picker changed, in the pre-join screen or in the call. */
async function picked(kind: DeviceKind, deviceId: string): Promise<void> {
  savePick(kind, deviceId);
  if (kind === "audiooutput") {
    for (const video of document.querySelectorAll<HTMLVideoElement>(".tile:not(.local) video")) await useSpeaker(video, deviceId);
    return;
  }
  const trackKind = kind === "videoinput" ? "video" : "audio";
  await (session ? session.useDevice(trackKind, deviceId) : prejoin.pick(trackKind, deviceId));
}

async function devicesChanged(): Promise<void> {
  if (!session) return prejoin.devicesChanged();
  await session.devicesChanged(await showDevices(session.devicesInUse()));
  await showDevices(session.devicesInUse());
}

for (const [select, kind] of [[page.cameraSelect, "videoinput"], [page.micSelect, "audioinput"], [page.speakerSelect, "audiooutput"]] as const) {
  select.onchange = () => void picked(kind, select.value);
}
navigator.mediaDevices?.addEventListener("devicechange", () => void devicesChanged());
page.joinCamera.onchange = () => prejoin.cameraToggled();
page.devicesToggle.onclick = () => {
  page.devicesPanel.hidden = !page.devicesPanel.hidden;
  if (!page.devicesPanel.hidden && session) void showDevices(session.devicesInUse());
};

page.mic.onclick = () => void session?.toggle("audio");
page.cam.onclick = () => void session?.toggle("video");
page.share.onclick = () => void session?.toggleShare();
page.viewToggle.onclick = () => session?.layout.setView(session.layout.view === "grid" ? "speaker" : "grid");
page.peopleToggle.onclick = () => {
  page.people.hidden = !page.people.hidden;
  page.peopleToggle.setAttribute("aria-expanded", String(!page.people.hidden));
};
// The detailed figures on each tile, on demand (the quality icon is always there).
page.statsToggle.onclick = () => {
  const on = document.body.classList.toggle("show-stats");
  page.statsToggle.setAttribute("aria-pressed", String(on));
};
page.leave.onclick = () => {
  session?.leave();
  session = null;
  showLobby();
};
document.addEventListener("click", () => {
  for (const v of document.querySelectorAll("video")) if (v.paused) v.play().catch(() => {});
});
page.lobby.onsubmit = (e) => {
  e.preventDefault();
  const data = new FormData(page.lobby);
  const room = String(data.get("room"));
  const name = String(data.get("name"));
  void join(room, name, true);
};
page.invite.onclick = () => void copyInvite();

/** Copies the invite link; where the clipboard is out of reach (plain http off localhost), the link stays shown to copy by hand. */
async function copyInvite(): Promise<void> {
  page.invitePanel.hidden = false;
  page.inviteLink.select();
  try {
    await navigator.clipboard.writeText(page.inviteLink.value);
    page.inviteStatus.textContent = "Invite link copied. It carries only the room: each person joins under their own name.";
  } catch {
    page.inviteStatus.textContent = "Copy this link to invite others. It carries only the room.";
  }
}
window.addEventListener("pagehide", () => {
  session?.leave();
  prejoin.close();
});

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
  /** Ends our screen share the way the browser's own "stop sharing" bar does (headless Chromium has none). */
  endShareFromBrowser(): void;
  /** App data: sends `text` (UTF-8) to everyone else or to `to`; false when the channel is not open. */
  sendData(text: string, options?: { reliable?: boolean; to?: string[] }): boolean;
  /** Our app-data channels are open. */
  dataOpen(): boolean;
  /** App data received so far, and our messages the node refused. */
  receivedData(): ReceivedData[];
  refusedData(): DataRefusal[];
}
interface ReceivedData {
  from: string;
  text: string;
  reliable: boolean;
}
const receivedData: ReceivedData[] = [];
const refusedData: DataRefusal[] = [];
const hook: SfuHook = {
  state: () => ({ selfId: session?.selfId, participants: session ? [...session.participants.values()] : [], connection: page.connection.dataset.state }),
  remoteStats: () => session?.remoteStats() ?? {},
  selectedCandidates: () => session?.selectedCandidates() ?? {},
  publisherStats: () => session?.publisherStats() ?? [],
  publishedLayers: () => session?.publishedLayers ?? null,
  firstFrameMs: firstRemoteFrameMs,
  timeline: () => timeline,
  dropSignaling: () => session?.dropSignaling(),
  endShareFromBrowser: () => session?.endShareFromBrowser(),
  sendData: (text, options) => session?.data.send(new TextEncoder().encode(text), options) ?? false,
  dataOpen: () => session?.data.open ?? false,
  receivedData: () => receivedData,
  refusedData: () => refusedData,
};
Object.assign(window, { __sfu: hook });

if (opened.room && opened.name) void join(opened.room, opened.name, false);
else {
  showLobby();
  const field = (name: string) => page.lobby.elements.namedItem(name);
  const roomInput = field("room");
  const nameInput = field("name");
  if (opened.room && roomInput instanceof HTMLInputElement) roomInput.value = opened.room;
  if (nameInput instanceof HTMLInputElement) {
    nameInput.value = rememberedName();
    (opened.room ? nameInput : roomInput as HTMLInputElement).focus();
  }
}
