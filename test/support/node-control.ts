import type { RunningSystem } from "../../scripts/system.ts";
import { adminFetch } from "./admin.ts";

/**
 * Narrows or makes lossy one subscriber's link, through the worker's admin API (the worker asks the
 * room's media node; nodes started with debugImpairment only). 200 `{impaired: true}`, 404 for an
 * unknown participant, 400 for a bad body, 502 `{error: "media-node-error"}` when the node refuses.
 */
export async function impairLink(
  system: Pick<RunningSystem, "url" | "adminSecret">,
  room: string,
  participantId: string,
  body: { kbps?: number; lossPercent?: number },
): Promise<{ status: number; body: unknown }> {
  const res = await adminFetch(system, "POST", `/rooms/${room}/participants/${participantId}/impair`, body);
  return { status: res.status, body: await res.json() };
}
