/** A browser's SDP the node cannot use (the edge gets negotiation-failed): the caller's fault, not the node's. */
export class NegotiationError extends Error {}
