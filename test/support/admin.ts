import { signAdminToken } from "@sfu/shared";
import type { RunningSystem } from "../../scripts/system.ts";

/** A call to the worker's admin API (`/admin…`) with a fresh admin token; a body is sent as JSON. */
export async function adminFetch(
  system: Pick<RunningSystem, "url" | "adminSecret">,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<Response> {
  const token = await signAdminToken(system.adminSecret, "test", 300, Date.now());
  return fetch(`${system.url}/admin${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });
}
