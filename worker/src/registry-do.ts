import { DurableObject } from "cloudflare:workers";
import { ReplayGuard, type NodeHeartbeat, type NodeRegistration } from "@sfu/shared";
import { staleAfterMs, type Env } from "./env.ts";
import { chooseNode, isHealthy, type NodeRecord } from "./placement.ts";

export interface PlacedNode {
  id: string;
  url: string;
}

export interface NodeView extends NodeRecord {
  healthy: boolean;
}

/** How often the registry looks for nodes that stopped heartbeating. */
export const HEALTH_CHECK_MS = 1000;
/** A heartbeat this late gets the node probed. */
const SUSPECT_AFTER_MS = 2500;

async function answers(nodeUrl: string): Promise<boolean> {
  try {
    const res = await fetch(new URL("/healthz", nodeUrl), { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The fleet of media nodes: who registered, their load, where new rooms go, and which rooms each
 * hosts, so that when a node stops heartbeating (checked by an alarm) its rooms are told to move.
 * One instance ("global").
 */
export class NodeRegistryDO extends DurableObject<Env> {
  private nodes = new Map<string, NodeRecord>();
  /** room name → id of the node it was placed on. */
  private placements = new Map<string, string>();
  /** Signatures of node requests already accepted (this is the one instance every node request passes). */
  private readonly replays = new ReplayGuard();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<NodeRecord>({ prefix: "node:" });
      for (const node of stored.values()) this.nodes.set(node.id, node);
      const rooms = await ctx.storage.list<string>({ prefix: "room:" });
      for (const [key, nodeId] of rooms) this.placements.set(key.slice("room:".length), nodeId);
    });
  }

  /**
   * Finds nodes that stopped heartbeating and tells each of their rooms to move. A node whose
   * heartbeat is late but not yet stale is asked directly (GET /healthz, 1 s): a refused or timed-out
   * probe means it is gone, which catches a crash well before NODE_STALE_MS.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const stale = staleAfterMs(this.env);
    const hosting = new Set(this.placements.values());
    const dead = new Set<string>();
    await Promise.all(
      [...hosting].map(async (nodeId) => {
        const node = this.nodes.get(nodeId);
        if (!node || !isHealthy(node, now, stale)) return void dead.add(nodeId);
        if (now - node.lastHeartbeat > Math.min(SUSPECT_AFTER_MS, stale / 2) && !(await answers(node.url))) {
          dead.add(nodeId);
          await this.save({ ...node, lastHeartbeat: 0 });
        }
      }),
    );
    const moved = [...this.placements].filter(([, nodeId]) => dead.has(nodeId));
    for (const [room] of moved) this.placements.delete(room);
    await this.ctx.storage.delete(moved.map(([room]) => `room:${room}`));
    await this.moveRooms(moved, "the media server failed");
    if (this.placements.size > 0) await this.ctx.storage.setAlarm(Date.now() + HEALTH_CHECK_MS);
  }

  /**
   * Draining a node: it gets no new rooms, and its rooms move to other nodes now (their
   * participants publish again there). Undraining only makes it eligible again.
   */
  async setDraining(nodeId: string, draining: boolean): Promise<NodeRecord | null> {
    const node = this.nodes.get(nodeId);
    if (!node) return null;
    await this.save({ ...node, draining });
    if (draining) {
      const moving = [...this.placements].filter(([, id]) => id === nodeId);
      for (const [room] of moving) this.placements.delete(room);
      await this.ctx.storage.delete(moving.map(([room]) => `room:${room}`));
      await this.moveRooms(moving, "the media server is being drained");
    }
    return this.nodes.get(nodeId)!;
  }

  /** Rooms and the node each is placed on. */
  async rooms(): Promise<Array<{ room: string; nodeId: string }>> {
    return [...this.placements].map(([room, nodeId]) => ({ room, nodeId }));
  }

  private async moveRooms(rooms: Array<[string, string]>, why: string): Promise<void> {
    await Promise.all(
      rooms.map(([room, nodeId]) =>
        this.env.ROOMS.get(this.env.ROOMS.idFromName(room)).moveOffNode(nodeId, why).catch((err: Error) => console.error("could not move room", room, err.message)),
      ),
    );
  }

  firstUse(signature: string, now: number): boolean {
    return this.replays.firstUse(signature, now);
  }

  /** Forgets a room's placement (it emptied); a later join places it afresh. */
  async release(room: string, nodeId: string): Promise<void> {
    if (this.placements.get(room) !== nodeId) return;
    this.placements.delete(room);
    await this.ctx.storage.delete(`room:${room}`);
  }

  async register(reg: NodeRegistration, now: number): Promise<{ known: boolean }> {
    const previous = this.nodes.get(reg.nodeId);
    const node: NodeRecord = {
      id: reg.nodeId,
      url: reg.url,
      region: reg.region,
      capacity: reg.capacity,
      load: reg.load,
      registeredAt: previous?.registeredAt ?? now,
      lastHeartbeat: now,
      placedSinceHeartbeat: 0,
      draining: previous?.draining ?? false,
    };
    await this.save(node);
    return { known: true };
  }

  async heartbeat(hb: NodeHeartbeat, now: number): Promise<{ known: boolean }> {
    const node = this.nodes.get(hb.nodeId);
    if (!node) return { known: false };
    await this.save({ ...node, load: hb.load, lastHeartbeat: now, placedSinceHeartbeat: 0 });
    return { known: true };
  }

  async place(room: string, now: number, preferRegion?: string): Promise<PlacedNode | null> {
    const node = chooseNode([...this.nodes.values()], now, staleAfterMs(this.env), preferRegion);
    if (!node) return null;
    await this.save({ ...node, placedSinceHeartbeat: node.placedSinceHeartbeat + 1 });
    this.placements.set(room, node.id);
    await this.ctx.storage.put(`room:${room}`, node.id);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + HEALTH_CHECK_MS);
    return { id: node.id, url: node.url };
  }

  async isHealthy(nodeId: string, now: number): Promise<boolean> {
    const node = this.nodes.get(nodeId);
    return !!node && isHealthy(node, now, staleAfterMs(this.env));
  }

  async list(now: number): Promise<NodeView[]> {
    const stale = staleAfterMs(this.env);
    return [...this.nodes.values()].map((n) => ({ ...n, healthy: isHealthy(n, now, stale) }));
  }

  private async save(node: NodeRecord): Promise<void> {
    this.nodes.set(node.id, node);
    await this.ctx.storage.put(`node:${node.id}`, node);
  }
}
