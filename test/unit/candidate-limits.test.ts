import { isPublicCandidateAddress, MAX_CANDIDATES_PER_PC, RemoteCandidates } from "@sfu/shared";
import { describe, expect, it } from "vitest";

const line = (address: string, port = 50000) => `candidate:842163049 1 udp 1677729535 ${address} ${port} typ srflx raddr 0.0.0.0 rport 0 generation 0`;

describe("a PeerConnection's remote candidates", () => {
  it("takes each candidate once, up to the cap; repeats (also with a= or other spacing) are duplicates", () => {
    const taken = new RemoteCandidates(3);
    expect(taken.admit(line("203.0.113.1", 1))).toBe("new");
    expect(taken.admit(line("203.0.113.1", 1))).toBe("duplicate");
    expect(taken.admit(`a=${line("203.0.113.1", 1)}`)).toBe("duplicate");
    expect(taken.admit(line("203.0.113.1", 1).replaceAll(" ", "  "))).toBe("duplicate");
    expect(taken.admit(line("203.0.113.1", 2))).toBe("new");
    expect(taken.admit(line("203.0.113.1", 3))).toBe("new");
    expect(taken.admit(line("203.0.113.1", 4))).toBe("over-limit");
    expect(taken.admit(line("203.0.113.1", 2))).toBe("duplicate");
    expect(taken.size).toBe(3);
  });

  it("holds at most MAX_CANDIDATES_PER_PC (50) through a flood of 3,000", () => {
    const taken = new RemoteCandidates();
    const verdicts = { new: 0, duplicate: 0, "over-limit": 0 };
    for (let i = 0; i < 3000; i++) verdicts[taken.admit(line("203.0.113.1", 1 + (i % 60)))]++;
    expect(MAX_CANDIDATES_PER_PC).toBe(50);
    expect(verdicts).toEqual({ new: 50, duplicate: 2950 - 500, "over-limit": 500 });
    expect(taken.size).toBe(50);
  });
});

describe("public candidate addresses", () => {
  it.each([
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.1.1", "100.64.0.1", "100.127.255.254",
    "0.0.0.0", "224.0.0.251", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
    "turn.internal", "999.1.1.1", "abcd.local",
  ])("%s is not one", (address) => {
    expect(isPublicCandidateAddress(line(address))).toBe(false);
  });

  it.each(["203.0.113.1", "8.8.8.8", "172.15.0.1", "172.32.0.1", "100.63.0.1", "100.128.0.1", "2001:db8::1", "2a00:1450:4001::200e", "::ffff:8.8.8.8"])("%s is one", (address) => {
    expect(isPublicCandidateAddress(line(address))).toBe(true);
  });

  it("a line without an address is not one", () => {
    expect(isPublicCandidateAddress("candidate:1 1 udp")).toBe(false);
  });
});
