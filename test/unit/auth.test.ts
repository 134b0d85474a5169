import { describe, expect, it } from "vitest";
import { NODE_PROOF_MAX_SKEW_MS, signNodeProof, uniqueProofTime, verifyNodeProof } from "@sfu/shared";

const SECRET = "unit-test-fleet-secret";
const NOW = 1_760_000_000_000;

describe("node connect proofs", () => {
  it("have the documented shape and verify with the same secret", async () => {
    const proof = await signNodeProof(SECRET, "node.eu-1", "0f6c1d2e-instance", NOW);
    expect(proof).toMatch(/^v1,node\.eu-1,0f6c1d2e-instance,1760000000000,[0-9a-f]{64}$/);
    expect(await verifyNodeProof(SECRET, proof, NOW)).toEqual({ ok: true, proof: { nodeId: "node.eu-1", instanceId: "0f6c1d2e-instance", issuedAt: NOW } });
  });

  it("depend on every input", async () => {
    const base = await signNodeProof(SECRET, "n1", "instance-1", NOW);
    const sig = (p: string) => p.split(",")[4];
    for (const other of [
      await signNodeProof(SECRET, "n2", "instance-1", NOW),
      await signNodeProof(SECRET, "n1", "instance-2", NOW),
      await signNodeProof(SECRET, "n1", "instance-1", NOW + 1),
      await signNodeProof(`${SECRET}x`, "n1", "instance-1", NOW),
    ]) expect(sig(other)).not.toBe(sig(base));
  });

  it("are accepted up to the skew on either side and refused just past it", async () => {
    const proof = await signNodeProof(SECRET, "n1", "instance-1", NOW);
    expect((await verifyNodeProof(SECRET, proof, NOW + NODE_PROOF_MAX_SKEW_MS)).ok).toBe(true);
    expect((await verifyNodeProof(SECRET, proof, NOW - NODE_PROOF_MAX_SKEW_MS)).ok).toBe(true);
    expect(await verifyNodeProof(SECRET, proof, NOW + NODE_PROOF_MAX_SKEW_MS + 1)).toEqual({ ok: false, reason: "expired" });
    expect(await verifyNodeProof(SECRET, proof, NOW - NODE_PROOF_MAX_SKEW_MS - 1)).toEqual({ ok: false, reason: "expired" });
  });

  it.each([
    ["missing", null, "missing"],
    ["empty", "", "missing"],
    ["another version", "v2,n1,instance-1,1760000000000," + "a".repeat(64), "malformed"],
    ["a node id with a comma", "v1,n,1,instance-1,1760000000000," + "a".repeat(64), "malformed"],
    ["a short instance id", "v1,n1,abc,1760000000000," + "a".repeat(64), "malformed"],
    ["uppercase hex", "v1,n1,instance-1,1760000000000," + "A".repeat(64), "malformed"],
    ["a short signature", "v1,n1,instance-1,1760000000000," + "a".repeat(63), "malformed"],
  ])("are refused when %s", async (_name, header, reason) => {
    expect(await verifyNodeProof(SECRET, header, NOW)).toEqual({ ok: false, reason });
  });

  it("are refused when signed with another secret, or when a field was changed after signing", async () => {
    const proof = await signNodeProof(SECRET, "n1", "instance-1", NOW);
    expect(await verifyNodeProof("another-secret", proof, NOW)).toEqual({ ok: false, reason: "bad-signature" });
    expect(await verifyNodeProof(SECRET, proof.replace("v1,n1,", "v1,n2,"), NOW)).toEqual({ ok: false, reason: "bad-signature" });
    expect(await verifyNodeProof(SECRET, proof.replace(",instance-1,", ",instance-9,"), NOW)).toEqual({ ok: false, reason: "bad-signature" });
    expect(await verifyNodeProof(SECRET, proof.replace(`,${NOW},`, `,${NOW + 1},`), NOW)).toEqual({ ok: false, reason: "bad-signature" });
  });

  it("get strictly increasing issue times within a process, so no two are alike", () => {
    const times = Array.from({ length: 1000 }, () => uniqueProofTime());
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
  });
});
