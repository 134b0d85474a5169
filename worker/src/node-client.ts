import {
  CONTROL_PROTOCOL_VERSION,
  ControlError,
  SIGNATURE_HEADER,
  signRequest,
  uniqueSigningTime,
  type ControlErrorCode,
} from "@sfu/shared";
import type { z } from "zod";

export class NodeCallError extends Error {
  constructor(
    readonly code: ControlErrorCode | "unreachable",
    message: string,
  ) {
    super(message);
  }
}

const CALL_TIMEOUT_MS = 10_000;

/** Signed calls from the worker to one media node's control API. */
export class NodeClient {
  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
  ) {}

  async call<S extends z.ZodType>(method: "POST" | "DELETE", path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    const text = body === undefined ? "" : JSON.stringify(body);
    const signature = await signRequest(this.secret, method, path, text, uniqueSigningTime());
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        body: text || undefined,
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: signature,
          "x-sfu-control-version": String(CONTROL_PROTOCOL_VERSION),
        },
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (err) {
      throw new NodeCallError("unreachable", `media node unreachable: ${(err as Error).message}`);
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const parsed = ControlError.safeParse(json);
      if (parsed.success) throw new NodeCallError(parsed.data.error, parsed.data.message);
      throw new NodeCallError("internal", `media node answered HTTP ${res.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new NodeCallError("internal", `media node sent an invalid reply to ${method} ${path}`);
    return parsed.data;
  }
}
