import type { ErrorCode, NodeAction, NodeErrorCode, NodeRequest, NodeResponse } from "@sfu/shared";
import { nodeStub, type Env } from "./env.ts";
import type { CallResult } from "./node-do.ts";

export class NodeCallError extends Error {
  constructor(
    readonly code: NodeErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** What the browser is told: the media limits both ends share keep their code; the rest is the node's fault. */
  get roomCode(): ErrorCode {
    return this.code === "too-many-tracks" || this.code === "too-many-candidates" ? this.code : "media-node-error";
  }
}

/** One request to a media node, through the object that holds its socket; a refusal throws NodeCallError. */
export async function callNode<A extends NodeAction>(env: Env, nodeId: string, action: A, body: NodeRequest<A>): Promise<NodeResponse<A>> {
  const result = (await nodeStub(env, nodeId).call(action, body as never)) as CallResult<A>;
  if (!result.ok) throw new NodeCallError(result.code, result.message);
  return result.value;
}
