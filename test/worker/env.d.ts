import type { Env as WorkerEnv } from "../../worker/src/env.ts";

declare global {
  namespace Cloudflare {
    // `env` from "cloudflare:test" / "cloudflare:workers" is typed as the worker's own Env.
    interface Env extends WorkerEnv {}
  }
}
