/** What the room's error codes mean to the person in the call: plain words, never a code. */
import type { ErrorCode } from "@sfu/shared/room-protocol";

const WORDS: Record<ErrorCode, string | null> = {
  "bad-message": "The room did not understand this app. Please reload the page.",
  "unsupported-version": "Please reload: the app is out of date.",
  "message-too-large": "That was too large to send.",
  "not-joined": "You are not in the room yet; wait a moment and try again.",
  // The room's own sentence says what was not allowed (e.g. publishing with a view-only link).
  forbidden: null,
  "already-joined": "You are already in this room.",
  "resume-failed": "You were away too long and joined the room again.",
  "no-media-node": "No media server is available right now. Try again in a minute.",
  "media-node-error": "The media server could not set up your audio and video. Try again.",
  "media-failed": "Your audio and video connection broke; reconnecting…",
  "media-moved": "The call moved to another media server; reconnecting…",
  "rate-limited": "Too much at once: slow down a little.",
  "room-full": "The room is full; try again later.",
  "too-many-tracks": "You are sending more cameras, microphones or screens than a room allows.",
  "too-many-candidates": "Your network offered more connection routes than the room accepts.",
  internal: "Something went wrong in the room. Please try again.",
};

/** The sentence to show for an error from the room (`message` is the room's own, for codes whose sentence it writes). */
export function errorWords(code: ErrorCode, message: string): string {
  return WORDS[code] ?? sentence(message);
}

function sentence(text: string): string {
  const t = text.trim();
  return t ? `${t[0]!.toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? "" : "."}` : "That is not allowed here.";
}
