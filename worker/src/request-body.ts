import { bodyLimit } from "hono/body-limit";

/** Largest HTTP request body the worker reads (the admin API's bodies are a few dozen bytes). */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;

/**
 * Refuses a larger body with 413 before it is read: by its Content-Length, or, when it has none
 * (chunked), by counting while it streams in and stopping at the limit.
 */
export const limitRequestBody = bodyLimit({
  maxSize: MAX_REQUEST_BODY_BYTES,
  onError: (c) => c.json({ error: "payload-too-large", message: `request bodies are limited to ${MAX_REQUEST_BODY_BYTES} bytes` }, 413),
});
