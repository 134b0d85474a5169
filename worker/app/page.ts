/** The page's fixed elements (index.html) and the two things every part of the app shows on it. */

function element<T extends HTMLElement>(selector: string, type: { new (): T; prototype: T }): T {
  const el = document.querySelector(selector);
  if (!(el instanceof type)) throw new Error(`index.html has no ${type.name} ${selector}`);
  return el;
}

export const page = {
  roomLabel: element("#room-label", HTMLElement),
  connection: element("#conn", HTMLElement),
  controls: element("#controls", HTMLElement),
  mic: element("#mic", HTMLButtonElement),
  cam: element("#cam", HTMLButtonElement),
  share: element("#share", HTMLButtonElement),
  statsToggle: element("#stats-toggle", HTMLButtonElement),
  viewToggle: element("#view-toggle", HTMLButtonElement),
  peopleToggle: element("#people-toggle", HTMLButtonElement),
  peopleCount: element("#people-count", HTMLElement),
  people: element("#people", HTMLElement),
  peopleList: element("#people-list", HTMLOListElement),
  leave: element("#leave", HTMLButtonElement),
  invite: element("#invite", HTMLButtonElement),
  invitePanel: element("#invite-panel", HTMLElement),
  inviteLink: element("#invite-link", HTMLInputElement),
  inviteStatus: element("#invite-status", HTMLElement),
  preview: element("#preview", HTMLVideoElement),
  micLevel: element("#mic-level", HTMLMeterElement),
  joinCamera: element("#join-camera", HTMLInputElement),
  joinMic: element("#join-mic", HTMLInputElement),
  prejoinStatus: element("#prejoin-status", HTMLElement),
  lobbyDevices: element("#lobby-devices", HTMLElement),
  devices: element("#devices", HTMLFieldSetElement),
  cameraSelect: element("#camera-select", HTMLSelectElement),
  micSelect: element("#mic-select", HTMLSelectElement),
  speakerSelect: element("#speaker-select", HTMLSelectElement),
  devicesToggle: element("#devices-toggle", HTMLButtonElement),
  devicesPanel: element("#devices-panel", HTMLElement),
  chatToggle: element("#chat-toggle", HTMLButtonElement),
  chatUnread: element("#chat-unread", HTMLElement),
  chat: element("#chat", HTMLElement),
  chatMessages: element("#chat-messages", HTMLOListElement),
  chatForm: element("#chat-form", HTMLFormElement),
  chatInput: element("#chat-input", HTMLInputElement),
  chatStatus: element("#chat-status", HTMLElement),
  lobby: element("#lobby", HTMLFormElement),
  notice: element("#notice", HTMLElement),
  stage: element("#stage", HTMLElement),
  grid: element("#grid", HTMLElement),
};

/** The connection badge's states (style.css colours them). */
export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "failed" | "closed";

export function showConnection(state: ConnectionState, label: string): void {
  page.connection.dataset.state = state;
  page.connection.textContent = label;
}

export function showNotice(text: string): void {
  page.notice.textContent = text;
  page.notice.hidden = false;
}

/** Hides the notice if it still says `text` (a later notice stays). */
export function clearNotice(text: string): void {
  if (page.notice.textContent === text) page.notice.hidden = true;
}
