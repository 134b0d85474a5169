/**
 * The egress alone, both paths side by side: one 1100-byte payload protected and sent to N UDP
 * sockets on 127.0.0.1 per "received packet", as the node's fan-out does. Prints CPU µs per sent
 * packet (user + system of this process: the kernel's loopback delivery is counted too).
 *
 *   npm run bench:egress -- [--subscribers 100] [--packets 2000] [--profile gcm|cm]
 */
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { loadEgressPath, udpHandle, type NativeEgressAddon } from "../media-node/src/egress/native-egress.ts";
import { SrtpProtector, SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 } from "../media-node/src/egress/srtp-protector.ts";

const { values: args } = parseArgs({ options: { subscribers: { type: "string", default: "100" }, packets: { type: "string", default: "2000" }, profile: { type: "string", default: "gcm" } } });
const n = Number(args.subscribers);
const packets = Number(args.packets);
const profile = args.profile === "cm" ? SRTP_AES128_CM_HMAC_SHA1_80 : SRTP_AEAD_AES_128_GCM;
const keys = { profile, sessionKey: randomBytes(16), sessionSalt: randomBytes(14), sessionAuthKey: randomBytes(20) };
const addon = (loadEgressPath("native") as { addon: NativeEgressAddon }).addon;

async function udp(): Promise<Socket> {
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}
const senders = await Promise.all(Array.from({ length: n }, udp));
const sinks = await Promise.all(Array.from({ length: n }, udp));
for (const s of sinks) s.on("message", () => undefined);
const payload = randomBytes(1100);

function js(): void {
  const protector = new SrtpProtector(keys);
  for (let p = 0; p < packets; p++) {
    for (let i = 0; i < n; i++) {
      const out = Buffer.allocUnsafe(20 + payload.length + protector.tagLength);
      out[0] = 0x90;
      out[1] = 96;
      out.writeUInt16BE(p & 0xffff, 2);
      out.writeUInt32BE(p * 3000, 4);
      out.writeUInt32BE(1000 + i, 8);
      out.set([0xbe, 0xde, 0, 1, 0x31, 0, 0, 0], 12);
      protector.protect(out, 20, payload, 1000 + i, 0, p & 0xffff);
      senders[i]!.send(out, sinks[i]!.address().port, "127.0.0.1");
    }
  }
}

function native(): void {
  const ports = sinks.map((s) => s.address().port);
  const ctxs = senders.map((s, i) => {
    const c = addon.createSender(profile, keys.sessionKey, keys.sessionSalt, profile === SRTP_AES128_CM_HMAC_SHA1_80 ? keys.sessionAuthKey : undefined);
    addon.setPath(c, udpHandle(s)!.fd, "127.0.0.1", ports[i]!);
    return c;
  });
  for (let p = 0; p < packets; p++) {
    for (let i = 0; i < n; i++) addon.send(ctxs[i]!, payload, 96, p & 0xffff, p * 3000, 1000 + i, 0, 3, p & 0xffff);
    addon.flush();
  }
}

async function measure(name: string, run: () => void): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  run();
  await new Promise((r) => setTimeout(r, 200)); // dgram sends complete asynchronously
  const cpu = process.cpuUsage(c0);
  const us = (cpu.user + cpu.system) / (packets * n);
  console.log(`${name}: ${us.toFixed(2)} µs CPU per packet (user ${(cpu.user / (packets * n)).toFixed(2)}, system ${(cpu.system / (packets * n)).toFixed(2)}), ${((performance.now() - t0) / 1000).toFixed(1)} s wall`);
}

console.log(`${n} subscribers × ${packets} packets of ${payload.length} bytes, ${profile === SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES128_CM_HMAC_SHA1_80"}, Node ${process.version}`);
for (let r = 0; r < 2; r++) {
  await measure("TypeScript path (node:crypto + dgram)", js);
  await measure("native path (addon + sendmmsg)", native);
}
for (const s of [...senders, ...sinks]) s.close();
