/**
 * Cost of one cipher / HMAC context per packet on this Node, as the SRTP egress pays it:
 *   npm run bench:crypto            (or: <any node> --import tsx bench/crypto-contexts.ts)
 * Prints µs per 1100-byte packet for AES-128-CTR (+ HMAC-SHA1, AES-CM-HMAC-SHA1-80's two halves)
 * and AES-128-GCM, and the bulk AES-CTR throughput, which context costs do not touch.
 */
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";

const ROUNDS = 100_000;
const key = randomBytes(16);
const iv = randomBytes(16);
const packet = randomBytes(1100);

function perOp(name: string, op: () => void): void {
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) op();
  console.log(`${name}: ${(((performance.now() - start) * 1000) / ROUNDS).toFixed(2)} µs per packet`);
}

console.log(`Node ${process.version}, OpenSSL ${process.versions.openssl}`);
perOp("createCipheriv aes-128-ctr", () => {
  const c = createCipheriv("aes-128-ctr", key, iv);
  c.update(packet);
  c.final();
});
perOp("createHmac sha1", () => createHmac("sha1", key).update(packet).digest());
perOp("createCipheriv aes-128-gcm", () => {
  const c = createCipheriv("aes-128-gcm", key, iv.subarray(0, 12));
  c.setAAD(packet.subarray(0, 12));
  c.update(packet);
  c.final();
  c.getAuthTag();
});
const bulk = randomBytes(64 * 1024 * 1024);
const start = performance.now();
const c = createCipheriv("aes-128-ctr", key, iv);
c.update(bulk);
c.final();
console.log(`bulk aes-128-ctr: ${(64 / ((performance.now() - start) / 1000)).toFixed(0)} MB/s`);
