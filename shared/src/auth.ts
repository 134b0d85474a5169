/**
 * The proof a media node presents when it opens its socket to the edge, in the NODE_PROOF_HEADER:
 * `v1,<nodeId>,<instanceId>,<issuedAt unix ms>,<hex HMAC-SHA256(fleet secret, "sfu-node-connect\n" nodeId \n instanceId \n issuedAt)>`.
 * It is short-lived (refused outside `maxSkewMs` of the edge's clock) and single-use: the edge keeps
 * the newest `issuedAt` it accepted per node id and refuses any proof that is not newer.
 * Uses WebCrypto, so the same code runs in workerd and Node.
 */
import { z } from "zod";
import { InstanceId, NodeId } from "./node-protocol.ts";

export const NODE_PROOF_HEADER = "x-sfu-node-proof";
export const NODE_PROOF_MAX_SKEW_MS = 30_000;

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const proofMessage = (nodeId: string, instanceId: string, issuedAt: number) =>
  new Uint8Array(encoder.encode(`sfu-node-connect\n${nodeId}\n${instanceId}\n${issuedAt}`));

export async function signNodeProof(secret: string, nodeId: string, instanceId: string, issuedAt: number): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(secret), proofMessage(nodeId, instanceId, issuedAt));
  return `v1,${nodeId},${instanceId},${issuedAt},${toHex(sig)}`;
}

export interface NodeProof {
  nodeId: string;
  instanceId: string;
  issuedAt: number;
}

export type ProofRefusal = "missing" | "malformed" | "expired" | "bad-signature";
export type ProofVerdict = { ok: true; proof: NodeProof } | { ok: false; reason: ProofRefusal };

const ProofParts = z.tuple([z.literal("v1"), NodeId, InstanceId, z.string().regex(/^\d{1,16}$/), z.string().regex(/^[0-9a-f]{64}$/)]);

/** Checks form, freshness and signature. Single use is the caller's part (the newest `issuedAt` per node). */
export async function verifyNodeProof(secret: string, header: string | null | undefined, now: number, maxSkewMs = NODE_PROOF_MAX_SKEW_MS): Promise<ProofVerdict> {
  if (!header) return { ok: false, reason: "missing" };
  const parts = ProofParts.safeParse(header.split(","));
  if (!parts.success) return { ok: false, reason: "malformed" };
  const [, nodeId, instanceId, at, sig] = parts.data;
  const issuedAt = Number(at);
  if (Math.abs(now - issuedAt) > maxSkewMs) return { ok: false, reason: "expired" };
  const valid = await crypto.subtle.verify("HMAC", await hmacKey(secret), fromHex(sig), proofMessage(nodeId, instanceId, issuedAt));
  return valid ? { ok: true, proof: { nodeId, instanceId, issuedAt } } : { ok: false, reason: "bad-signature" };
}

let lastIssuedAt = 0;
/** Date.now(), but strictly increasing within this process, so two proofs never share an `issuedAt`. */
export function uniqueProofTime(): number {
  lastIssuedAt = Math.max(Date.now(), lastIssuedAt + 1);
  return lastIssuedAt;
}
