import { CONTROL_PROTOCOL_VERSION, SIGNATURE_HEADER, signRequest } from "@sfu/shared";

/** A signed call to a media node's control API, as the worker makes them. */
export async function nodeControl(controlPort: number, secret: string, method: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const text = body === undefined ? "" : JSON.stringify(body);
  const signature = await signRequest(secret, method, path, text, Date.now());
  const res = await fetch(`http://127.0.0.1:${controlPort}${path}`, {
    method,
    body: text || undefined,
    headers: { [SIGNATURE_HEADER]: signature, "x-sfu-control-version": String(CONTROL_PROTOCOL_VERSION) },
  });
  return { status: res.status, body: await res.json() };
}
