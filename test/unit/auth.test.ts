import { describe, expect, it } from "vitest";
import { deriveNodeKey, NODE_PROOF_MAX_SKEW_MS, nodeCredential, signNodeProof, uniqueProofTime, verifyNodeProof } from "@sfu/shared";

const FLEET = "unit-test-fleet-secret";
const NOW = 1_760_000_000_000;
const key = (nodeId: string) => deriveNodeKey(FLEET, nodeId);

describe("node keys", () => {
  it("are HMAC-SHA256(fleet secret, 'sfu-node-key\\n' + node id), in hex", async () => {
    const hmac = await crypto.subtle.importKey("raw", new TextEncoder().encode(FLEET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const expected = Buffer.from(await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode("sfu-node-key\nnode.eu-1"))).toString("hex");
    expect(await key("node.eu-1")).toBe(expected);
  });

  it("differ per node id and per fleet secret", async () => {
    const keys = new Set([await key("n1"), await key("n2"), await key("n1-0"), await deriveNodeKey(`${FLEET}x`, "n1")]);
    expect(keys.size).toBe(4);
  });

  it("come one per worker process (node id -i) when a node runs several", async () => {
    expect(await nodeCredential(FLEET, "vm1")).toBe(await key("vm1"));
    expect(await nodeCredential(FLEET, "vm1", 3)).toBe([await key("vm1-0"), await key("vm1-1"), await key("vm1-2")].join(","));
  });
});

describe("node connect proofs", () => {
  it("have the documented shape and verify against the key derived for the claimed node id", async () => {
    const proof = await signNodeProof(await key("node.eu-1"), "node.eu-1", "0f6c1d2e-instance", NOW);
    expect(proof).toMatch(/^v2,node\.eu-1,0f6c1d2e-instance,1760000000000,[0-9a-f]{64}$/);
    expect(await verifyNodeProof(FLEET, proof, NOW)).toEqual({ ok: true, proof: { nodeId: "node.eu-1", instanceId: "0f6c1d2e-instance", issuedAt: NOW } });
  });

  it("depend on every input", async () => {
    const base = await signNodeProof(await key("n1"), "n1", "instance-1", NOW);
    const sig = (p: string) => p.split(",")[4];
    for (const other of [
      await signNodeProof(await key("n1"), "n2", "instance-1", NOW),
      await signNodeProof(await key("n1"), "n1", "instance-2", NOW),
      await signNodeProof(await key("n1"), "n1", "instance-1", NOW + 1),
      await signNodeProof(await key("n2"), "n1", "instance-1", NOW),
    ]) expect(sig(other)).not.toBe(sig(base));
  });

  it("signed with one node's key never verify for another node id", async () => {
    const proof = await signNodeProof(await key("node-a"), "node-b", "instance-1", NOW);
    expect(proof.startsWith("v2,node-b,")).toBe(true);
    expect(await verifyNodeProof(FLEET, proof, NOW)).toEqual({ ok: false, reason: "bad-signature" });
    const own = await signNodeProof(await key("node-a"), "node-a", "instance-1", NOW);
    expect(await verifyNodeProof(FLEET, own.replace("v2,node-a,", "v2,node-b,"), NOW)).toEqual({ ok: false, reason: "bad-signature" });
  });

  it("signed with the fleet secret itself are refused", async () => {
    const fleetAsKey = Buffer.from(FLEET.padEnd(32, "\0").slice(0, 32)).toString("hex");
    expect(await verifyNodeProof(FLEET, await signNodeProof(fleetAsKey, "n1", "instance-1", NOW), NOW)).toEqual({ ok: false, reason: "bad-signature" });
  });

  it("are accepted up to the skew on either side and refused just past it", async () => {
    const proof = await signNodeProof(await key("n1"), "n1", "instance-1", NOW);
    expect((await verifyNodeProof(FLEET, proof, NOW + NODE_PROOF_MAX_SKEW_MS)).ok).toBe(true);
    expect((await verifyNodeProof(FLEET, proof, NOW - NODE_PROOF_MAX_SKEW_MS)).ok).toBe(true);
    expect(await verifyNodeProof(FLEET, proof, NOW + NODE_PROOF_MAX_SKEW_MS + 1)).toEqual({ ok: false, reason: "expired" });
    expect(await verifyNodeProof(FLEET, proof, NOW - NODE_PROOF_MAX_SKEW_MS - 1)).toEqual({ ok: false, reason: "expired" });
  });

  it.each([
    ["missing", null, "missing"],
    ["empty", "", "missing"],
    ["the old version (v1: one fleet-wide secret)", "v1,n1,instance-1,1760000000000," + "a".repeat(64), "malformed"],
    ["a node id with a comma", "v2,n,1,instance-1,1760000000000," + "a".repeat(64), "malformed"],
    ["a short instance id", "v2,n1,abc,1760000000000," + "a".repeat(64), "malformed"],
    ["uppercase hex", "v2,n1,instance-1,1760000000000," + "A".repeat(64), "malformed"],
    ["a short signature", "v2,n1,instance-1,1760000000000," + "a".repeat(63), "malformed"],
  ])("are refused when %s", async (_name, header, reason) => {
    expect(await verifyNodeProof(FLEET, header, NOW)).toEqual({ ok: false, reason });
  });

  it("are refused under another fleet secret, or when a field was changed after signing", async () => {
    const proof = await signNodeProof(await key("n1"), "n1", "instance-1", NOW);
    expect(await verifyNodeProof("another-secret", proof, NOW)).toEqual({ ok: false, reason: "bad-signature" });
    expect(await verifyNodeProof(FLEET, proof.replace(",instance-1,", ",instance-9,"), NOW)).toEqual({ ok: false, reason: "bad-signature" });
    expect(await verifyNodeProof(FLEET, proof.replace(`,${NOW},`, `,${NOW + 1},`), NOW)).toEqual({ ok: false, reason: "bad-signature" });
  });

  it("get strictly increasing issue times within a process, so no two are alike", () => {
    const times = Array.from({ length: 1000 }, () => uniqueProofTime());
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
  });
});
