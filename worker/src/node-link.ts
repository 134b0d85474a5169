import type { NodeAction, NodeErrorCode, NodeRequest, NodeResponse } from "@sfu/shared";
import { nodeStub, type Env } from "./env.ts";
import type { CallResult } from "./node-do.ts";

export class NodeCallError extends Error {
  constructor(
    readonly code: NodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One request to a media node, through the object that holds its socket; a refusal throws NodeCallError. */
export async function callNode<A extends NodeAction>(env: Env, nodeId: string, action: A, body: NodeRequest<A>): Promise<NodeResponse<A>> {
  const result = (await nodeStub(env, nodeId).call(action, body as never)) as CallResult<A>;
  if (!result.ok) throw new NodeCallError(result.code, result.message);
  return result.value;
}
