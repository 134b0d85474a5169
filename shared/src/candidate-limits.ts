/**
 * Remote ICE candidates one PeerConnection takes. A browser gathers a handful (a host candidate or
 * two per interface, server-reflexive, one per TURN transport); each one the node takes costs a
 * connectivity check series, so a flood is capped, and repeats cost nothing.
 */
export const MAX_CANDIDATES_PER_PC = 50;

export type CandidateVerdict = "new" | "duplicate" | "over-limit";

/** The remote candidates one PeerConnection has taken: a set with a cap. */
export class RemoteCandidates {
  private readonly seen = new Set<string>();

  constructor(private readonly limit = MAX_CANDIDATES_PER_PC) {}

  /** Takes the candidate if it is new and there is room; a repeat, or one over the cap, is not taken. */
  admit(candidate: string): CandidateVerdict {
    const key = candidate.replace(/^a=/, "").trim().split(/\s+/).join(" ");
    if (this.seen.has(key)) return "duplicate";
    if (this.seen.size >= this.limit) return "over-limit";
    this.seen.add(key);
    return "new";
  }

  get size(): number {
    return this.seen.size;
  }
}

/** The connection address of a candidate line ("candidate:<foundation> <component> <transport> <priority> <address> …"). */
export function candidateAddress(candidate: string): string | undefined {
  return candidate.replace(/^a=/, "").split(" ")[4];
}

/**
 * Whether a candidate's address is a public IP literal: not loopback, private (RFC 1918, unique
 * local), shared (CGNAT), link-local, unspecified, multicast or reserved, and not a name (the node
 * would resolve it). In production a browser's other candidates would only have the node send
 * connectivity checks into its own networks; the browser's checks reach the node anyway.
 */
export function isPublicCandidateAddress(candidate: string): boolean {
  const address = candidateAddress(candidate);
  if (!address) return false;
  const v4 = parseIpv4(address);
  if (v4) return isPublicIpv4(v4);
  return isPublicIpv6(address.toLowerCase());
}

function parseIpv4(address: string): number[] | undefined {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

function isPublicIpv4([a, b]: number[]): boolean {
  return !(
    a === 0 || // unspecified, "this network"
    a === 10 || // private
    a === 127 || // loopback
    (a === 100 && b! >= 64 && b! <= 127) || // shared address space (CGNAT)
    (a === 169 && b === 254) || // link-local
    (a === 172 && b! >= 16 && b! <= 31) || // private
    (a === 192 && b === 168) || // private
    a! >= 224 // multicast, reserved, broadcast
  );
}

function isPublicIpv6(address: string): boolean {
  if (!/^[0-9a-f:.]+$/.test(address) || !address.includes(":")) return false; // a name, not an address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) {
    const v4 = parseIpv4(mapped[1]!);
    return !!v4 && isPublicIpv4(v4);
  }
  if (address.startsWith("::")) return false; // unspecified, loopback and the other reserved ::/8 forms
  const first = parseInt(address.split(":")[0]!, 16);
  return !(
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 // multicast
  );
}
