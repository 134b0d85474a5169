/**
 * Media-node credentials and the proof a node presents when it opens its socket to the edge.
 *
 * Each node has its own key, bound to its node id: `NODE_KEY = hex HMAC-SHA256(FLEET_SECRET,
 * "sfu-node-key\n" nodeId)`. The operator derives it (`npm run node-credential -- <nodeId>`) and
 * gives it to that node only; the fleet secret stays with the edge. A node signs its connect proof,
 * sent in the NODE_PROOF_HEADER, with its key:
 * `v2,<nodeId>,<instanceId>,<issuedAt unix ms>,<hex HMAC-SHA256(node key, "sfu-node-connect-v2\n" nodeId \n instanceId \n issuedAt)>`.
 * The edge derives the expected key from the node id the proof claims, so one node's key never
 * verifies for another node id. A proof is short-lived (refused outside `maxSkewMs` of the edge's
 * clock) and single-use: the edge keeps the newest `issuedAt` it accepted per node id and refuses any
 * proof that is not newer. Uses WebCrypto, so the same code runs in workerd and Node.
 */
import { z } from "zod";
import { InstanceId, NodeId } from "./node-protocol.ts";

export const NODE_PROOF_HEADER = "x-sfu-node-proof";
export const NODE_PROOF_MAX_SKEW_MS = 30_000;
/** A node key: 32 bytes, lowercase hex. */
export const NodeKey = z.string().regex(/^[0-9a-f]{64}$/, "a node key is 64 lowercase hex characters (npm run node-credential)");

const encoder = new TextEncoder();

function hmacKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The key of node `nodeId`, derived from the fleet secret (the edge's, and the operator's command). */
export async function deriveNodeKey(fleetSecret: string, nodeId: string): Promise<string> {
  const key = await hmacKey(new Uint8Array(encoder.encode(fleetSecret)));
  return toHex(await crypto.subtle.sign("HMAC", key, new Uint8Array(encoder.encode(`sfu-node-key\n${nodeId}`))));
}

/** Worker process `i` of a node run with WORKERS > 1 is a node of its own, with this id (and its own key). */
export const workerNodeId = (nodeId: string, i: number) => `${nodeId}-${i}`;

/** The NODE_KEY for a node id: one key, or with `workers` > 1 one per worker process, comma-separated. */
export async function nodeCredential(fleetSecret: string, nodeId: string, workers = 1): Promise<string> {
  if (workers <= 1) return deriveNodeKey(fleetSecret, nodeId);
  const keys = await Promise.all(Array.from({ length: workers }, (_, i) => deriveNodeKey(fleetSecret, workerNodeId(nodeId, i))));
  return keys.join(",");
}

const proofMessage = (nodeId: string, instanceId: string, issuedAt: number) =>
  new Uint8Array(encoder.encode(`sfu-node-connect-v2\n${nodeId}\n${instanceId}\n${issuedAt}`));

/** A proof for `nodeId`, signed with that node's key (`nodeKey`, hex). */
export async function signNodeProof(nodeKey: string, nodeId: string, instanceId: string, issuedAt: number): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(fromHex(nodeKey)), proofMessage(nodeId, instanceId, issuedAt));
  return `v2,${nodeId},${instanceId},${issuedAt},${toHex(sig)}`;
}

export interface NodeProof {
  nodeId: string;
  instanceId: string;
  issuedAt: number;
}

export type ProofRefusal = "missing" | "malformed" | "expired" | "bad-signature";
export type ProofVerdict = { ok: true; proof: NodeProof } | { ok: false; reason: ProofRefusal };

const ProofParts = z.tuple([z.literal("v2"), NodeId, InstanceId, z.string().regex(/^\d{1,16}$/), z.string().regex(/^[0-9a-f]{64}$/)]);

/**
 * Checks form, freshness and signature, against the key the fleet secret gives the claimed node id.
 * Single use is the caller's part (the newest `issuedAt` per node).
 */
export async function verifyNodeProof(fleetSecret: string, header: string | null | undefined, now: number, maxSkewMs = NODE_PROOF_MAX_SKEW_MS): Promise<ProofVerdict> {
  if (!header) return { ok: false, reason: "missing" };
  const parts = ProofParts.safeParse(header.split(","));
  if (!parts.success) return { ok: false, reason: "malformed" };
  const [, nodeId, instanceId, at, sig] = parts.data;
  const issuedAt = Number(at);
  if (Math.abs(now - issuedAt) > maxSkewMs) return { ok: false, reason: "expired" };
  const key = await hmacKey(fromHex(await deriveNodeKey(fleetSecret, nodeId)));
  const valid = await crypto.subtle.verify("HMAC", key, fromHex(sig), proofMessage(nodeId, instanceId, issuedAt));
  return valid ? { ok: true, proof: { nodeId, instanceId, issuedAt } } : { ok: false, reason: "bad-signature" };
}

let lastIssuedAt = 0;
/** Date.now(), but strictly increasing within this process, so two proofs never share an `issuedAt`. */
export function uniqueProofTime(): number {
  lastIssuedAt = Math.max(Date.now(), lastIssuedAt + 1);
  return lastIssuedAt;
}
