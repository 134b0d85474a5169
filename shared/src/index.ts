export * from "./room-protocol.ts";
export * from "./node-protocol.ts";
export * from "./auth.ts";
export * from "./room-token.ts";
export * from "./turn.ts";
export * from "./media-limits.ts";
export * from "./candidate-limits.ts";
