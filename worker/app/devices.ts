/**
 * Cameras, microphones and speakers: the lists to pick from, the picks (remembered on this device),
 * and the constraints that ask for a pick. The pickers (page.cameraSelect, micSelect,
 * speakerSelect) serve the pre-join screen and, moved into the devices panel, the call.
 */
import type { TrackKind } from "@sfu/shared/room-protocol";
import { page } from "./page.ts";

export type DeviceKind = "videoinput" | "audioinput" | "audiooutput";
export type Picks = Partial<Record<DeviceKind, string>>;

const PICKS_KEY = "sfu.devices";
const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };

export const inputKind = (kind: TrackKind): DeviceKind => (kind === "video" ? "videoinput" : "audioinput");

/** What getUserMedia is asked for one kind: the picked device if it still exists, else any. */
export function constraintsFor(kind: TrackKind, deviceId: string | undefined): MediaTrackConstraints {
  const device = deviceId ? { deviceId: { exact: deviceId } } : {};
  return kind === "video" ? { ...CAMERA, ...device } : device;
}

export function loadPicks(): Picks {
  try {
    return JSON.parse(localStorage.getItem(PICKS_KEY) ?? "{}") as Picks;
  } catch {
    return {};
  }
}

export function savePick(kind: DeviceKind, deviceId: string): void {
  try {
    localStorage.setItem(PICKS_KEY, JSON.stringify({ ...loadPicks(), [kind]: deviceId }));
  } catch {
    // storage off: the pick lasts this visit only
  }
}

const selects: Record<DeviceKind, () => HTMLSelectElement> = {
  videoinput: () => page.cameraSelect,
  audioinput: () => page.micSelect,
  audiooutput: () => page.speakerSelect,
};

/**
 * Fills the pickers from the devices present now, selecting `current` (the device in use) or the
 * remembered pick. Labels are empty until the page may use a camera or mic; then "Camera 1"… stand in.
 */
export async function showDevices(current: Picks = {}): Promise<MediaDeviceInfo[]> {
  const devices = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
  const picks = { ...loadPicks(), ...current };
  for (const kind of Object.keys(selects) as DeviceKind[]) {
    const select = selects[kind]();
    const ofKind = devices.filter((d) => d.kind === kind && d.deviceId);
    select.replaceChildren(...ofKind.map((d, i) => new Option(d.label || `${kindName(kind)} ${i + 1}`, d.deviceId)));
    const pick = picks[kind];
    if (pick && ofKind.some((d) => d.deviceId === pick)) select.value = pick;
    select.disabled = ofKind.length === 0;
    select.closest("label")?.toggleAttribute("hidden", kind === "audiooutput" && !canPickSpeaker());
  }
  return devices;
}

/** Whether `deviceId` (of `kind`) is still plugged in. */
export function present(devices: readonly MediaDeviceInfo[], kind: DeviceKind, deviceId: string | undefined): boolean {
  return deviceId === undefined || devices.some((d) => d.kind === kind && d.deviceId === deviceId);
}

export function canPickSpeaker(): boolean {
  return "setSinkId" in HTMLMediaElement.prototype;
}

/** Plays `el` on the picked speaker (where the browser lets a page choose one). */
export async function useSpeaker(el: HTMLMediaElement, deviceId = loadPicks().audiooutput): Promise<void> {
  if (!deviceId || !canPickSpeaker()) return;
  await (el as HTMLMediaElement & { setSinkId(id: string): Promise<void> }).setSinkId(deviceId).catch(() => {});
}

function kindName(kind: DeviceKind): string {
  return kind === "videoinput" ? "Camera" : kind === "audioinput" ? "Microphone" : "Speaker";
}

/** Why the camera or mic could not be opened, in plain words. */
export function mediaErrorWords(err: unknown): string {
  const name = err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError") return "Camera and microphone are blocked for this site. Allow them in the browser's site settings; meanwhile you can join without them.";
  if (name === "NotReadableError") return "The camera or microphone is in use by another app, or not working.";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "No camera or microphone found.";
  return "The camera and microphone could not be opened.";
}
