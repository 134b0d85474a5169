/** The participant list: everyone in the room with their microphone, camera and screen state. */
import { sourceOf, type ParticipantInfo } from "@sfu/shared/room-protocol";
import { page } from "./page.ts";

/** The words after a participant's name: what they send or have turned off. */
export function stateWords(p: ParticipantInfo): string[] {
  const words: string[] = [];
  const bySource = (source: string) => p.tracks.find((t) => sourceOf(t) === source);
  const mic = bySource("microphone");
  const camera = bySource("camera");
  words.push(!mic ? "no mic" : mic.muted ? "mic off" : "mic on");
  words.push(!camera ? "no camera" : camera.muted ? "camera off" : "camera on");
  if (bySource("screen")) words.push("sharing screen");
  return words;
}

/** Lists `participants` (ourselves first) in the people panel, and their count on its button. */
export function showPeople(participants: Iterable<ParticipantInfo>, selfId: string): void {
  const all = [...participants].sort((a, b) => Number(b.id === selfId) - Number(a.id === selfId) || a.name.localeCompare(b.name));
  page.peopleCount.textContent = String(all.length);
  page.peopleList.replaceChildren(
    ...all.map((p) => {
      const li = document.createElement("li");
      li.dataset.participantId = p.id;
      const name = Object.assign(document.createElement("span"), { className: "who", textContent: p.id === selfId ? `${p.name} (you)` : p.name });
      const state = Object.assign(document.createElement("span"), { className: "state", textContent: stateWords(p).join(" · ") });
      li.append(name, state);
      return li;
    }),
  );
}
