import type { NodeErrorCode } from "@sfu/shared";

/** A request over one of the node's media limits, refused with its own code before it changed anything. */
export class LimitError extends Error {
  constructor(
    readonly code: Extract<NodeErrorCode, "too-many-tracks" | "too-many-candidates">,
    message: string,
  ) {
    super(message);
  }
}
