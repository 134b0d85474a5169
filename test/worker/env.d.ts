import type { Settings } from "../../worker/src/env.ts";

declare global {
  namespace Cloudflare {
    // `env` from "cloudflare:test" / "cloudflare:workers" carries the worker's secrets and settings too.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
    interface Env extends Settings {}
  }
}
