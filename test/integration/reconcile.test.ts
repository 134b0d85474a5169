import { afterAll, describe, expect, it } from "vitest";
import { useSystem } from "../support/hooks.ts";
import { RoomClient } from "../support/room-client.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";

let proxy: TcpProxy;
afterAll(() => proxy?.close()); // registered first, it runs last: after the system stopped
const system = useSystem(async ({ workerPort }) => {
  // The node reaches the edge through a relay the test can cut and hold; it reports its inventory
  // every 500 ms, and the edge waits long for it to come back (no move while it is away).
  proxy = await TcpProxy.start(workerPort);
  return { nodes: 1, nodeWorkerUrl: () => proxy.url, nodeEnv: { INVENTORY_MS: "500" }, workerVars: { NODE_RECONNECT_GRACE_MS: "30000" } };
});

const clients: RoomClient[] = [];
afterAll(() => clients.forEach((c) => c.close()));

async function joined(room: string, name: string): Promise<RoomClient> {
  const client = await RoomClient.connect(system.url, room);
  clients.push(client);
  await client.join(name);
  return client;
}

describe("a removal the node never received", () => {
  it("leaves an orphan on the node only until its next inventory: the edge removes it there", async () => {
    const room = `orphan-${Date.now()}`;
    await joined(room, "Ada");
    const bob = await joined(room, "Bob");
    // Each participant exists on the node once the room asked for its subscriber offer.
    await expect.poll(async () => (await system.nodeHealth(0)).participants, { timeout: 10_000 }).toBe(2);

    // The node is cut off: Bob's removal cannot reach it.
    proxy.held = true;
    proxy.cut();
    await expect.poll(async () => (await system.nodeHealth(0)).connected, { timeout: 10_000 }).toBe(false);
    bob.send({ type: "leave" });
    await expect.poll(() => bob.closed, { timeout: 15_000 }).toBeDefined();
    expect(await system.nodeHealth(0)).toMatchObject({ rooms: 1, participants: 2 });

    // Back within the grace, it keeps the room (Ada is still there) and, with it, the orphan; its inventory gets Bob removed.
    proxy.held = false;
    await expect.poll(async () => (await system.nodeHealth(0)).connected, { timeout: 15_000 }).toBe(true);
    await expect.poll(async () => (await system.nodeHealth(0)).participants, { timeout: 10_000 }).toBe(1);
    expect((await system.nodeHealth(0)).rooms).toBe(1);
  });
});
