/**
 * The pre-join screen: a preview of the camera, a level meter for the microphone, the device
 * pickers, and whether to join with the camera or mic off. Joining hands its stream to the call,
 * so the call does not ask for the devices again.
 */
import type { TrackKind } from "@sfu/shared/room-protocol";
import { constraintsFor, mediaErrorWords, showDevices } from "./devices.ts";
import { getLocalMedia } from "./local-media.ts";
import { page } from "./page.ts";
import type { Prejoined } from "./session.ts";

const METER_INTERVAL_MS = 100;

export class PreJoin {
  #stream: MediaStream | null = null;
  #meter: LevelMeter | null = null;
  /** Bumped by every open and take: an open that finishes after a newer one (or a take) is dropped. */
  #generation = 0;

  /** Opens the preview with the picked devices (asking for them the first time) and fills the pickers. */
  async open(): Promise<void> {
    const generation = ++this.#generation;
    page.prejoinStatus.textContent = "";
    let stream: MediaStream | null = null;
    try {
      stream = await getLocalMedia();
      if (!stream) page.prejoinStatus.textContent = "No camera or microphone found: you will join receive-only.";
    } catch (err) {
      page.prejoinStatus.textContent = mediaErrorWords(err);
    }
    if (generation !== this.#generation) {
      stream?.getTracks().forEach((t) => t.stop());
      return;
    }
    this.#show(stream);
    await showDevices(this.#inUse());
  }

  /** The user picked another camera or mic here: the preview switches to it. */
  async pick(kind: TrackKind, deviceId: string): Promise<void> {
    const stream = this.#stream;
    if (!stream) return this.open();
    try {
      const fresh = (await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, deviceId) })).getTracks()[0];
      if (!fresh) return;
      for (const old of stream.getTracks().filter((t) => t.kind === kind)) {
        stream.removeTrack(old);
        old.stop();
      }
      stream.addTrack(fresh);
      this.#show(stream);
    } catch (err) {
      page.prejoinStatus.textContent = mediaErrorWords(err);
    }
  }

  /** The devices present changed: the pickers follow, and a device in use that went away is replaced. */
  async devicesChanged(): Promise<void> {
    const devices = await showDevices(this.#inUse());
    const gone = this.#stream?.getTracks().filter((t) => t.readyState === "ended" || !devices.some((d) => d.deviceId === t.getSettings().deviceId));
    if (gone?.length) await this.open();
  }

  /** Joining: the call takes the stream, and what the user chose to turn off. */
  take(): Prejoined {
    this.#generation++;
    const stream = this.#stream;
    this.#stream = null;
    this.#stopMeter();
    page.preview.srcObject = null;
    return { stream, muted: { audio: !page.joinMic.checked, video: !page.joinCamera.checked } };
  }

  /** The screen goes away without joining (or the page hides). */
  close(): void {
    this.take().stream?.getTracks().forEach((t) => t.stop());
  }

  #show(stream: MediaStream | null): void {
    this.#stream = stream;
    page.preview.srcObject = stream;
    page.preview.classList.toggle("off", !stream?.getVideoTracks().length || !page.joinCamera.checked);
    page.joinCamera.disabled = !stream?.getVideoTracks().length;
    page.joinMic.disabled = !stream?.getAudioTracks().length;
    this.#stopMeter();
    if (stream?.getAudioTracks().length) this.#meter = new LevelMeter(stream, (level) => (page.micLevel.value = page.joinMic.checked ? level : 0));
  }

  /** The camera checkbox changed: the preview shows it. */
  cameraToggled(): void {
    page.preview.classList.toggle("off", !this.#stream?.getVideoTracks().length || !page.joinCamera.checked);
  }

  #inUse() {
    const deviceOf = (kind: TrackKind) => this.#stream?.getTracks().find((t) => t.kind === kind)?.getSettings().deviceId;
    return { videoinput: deviceOf("video"), audioinput: deviceOf("audio") };
  }

  #stopMeter(): void {
    this.#meter?.close();
    this.#meter = null;
    page.micLevel.value = 0;
  }
}

/** The microphone's level (RMS of the waveform, scaled to 0..1) a few times a second. */
class LevelMeter {
  readonly #context = new AudioContext();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(stream: MediaStream, show: (level: number) => void) {
    const analyser = this.#context.createAnalyser();
    analyser.fftSize = 1024;
    this.#context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.#timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      show(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    }, METER_INTERVAL_MS);
    // A page may only start audio after a gesture; any click on the lobby will do.
    if (this.#context.state === "suspended") document.addEventListener("click", () => void this.#context.resume(), { once: true });
  }

  close(): void {
    clearInterval(this.#timer);
    void this.#context.close();
  }
}
