import { DurableObject } from "cloudflare:workers";
import type { NodeLoad } from "@sfu/shared";
import { forgetAfterMs, roomStub, staleAfterMs, type Env } from "./env.ts";
import { chooseNode, isHealthy, type NodeRecord } from "./placement.ts";
import { departedNodes, forgetAt } from "./reconcile.ts";

export interface NodeView extends NodeRecord {
  healthy: boolean;
}

/** What a node says about itself when its socket opens. */
export interface NodeArrival {
  instanceId: string;
  region: string;
  capacity: number;
  load: NodeLoad;
}

/** How often the registry looks for nodes that went silent without their node object noticing. */
export const HEALTH_CHECK_MS = 1000;
/** The registry takes a node down itself only after this many times NODE_STALE_MS without a heartbeat. */
const BACKSTOP_STALE_FACTOR = 3;

/**
 * The fleet of media nodes and where rooms are placed. Nodes reach it through their own
 * MediaNodeDO (which holds the node's socket): arrivals, load, departures. When a node goes away
 * its rooms are told to move. One instance ("global"); no room's media signaling passes here.
 */
export class NodeRegistryDO extends DurableObject<Env> {
  private nodes = new Map<string, NodeRecord>();
  /** room name → id of the node it was placed on. */
  private placements = new Map<string, string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<NodeRecord>({ prefix: "node:" });
      for (const node of stored.values()) this.nodes.set(node.id, node);
      const rooms = await ctx.storage.list<string>({ prefix: "room:" });
      for (const [key, nodeId] of rooms) this.placements.set(key.slice("room:".length), nodeId);
    });
  }

  /**
   * A node's socket opened (and it said hello). The same process coming back keeps its rooms; a
   * new process (restarted) holds no media, so the rooms placed on its predecessor move at once.
   * Returns the rooms the node should keep.
   */
  async nodeConnected(nodeId: string, arrival: NodeArrival, now: number): Promise<{ keepRooms: string[] }> {
    const previous = this.nodes.get(nodeId);
    const sameProcess = previous?.connected === true && previous.instanceId === arrival.instanceId;
    const restarted = previous !== undefined && !sameProcess;
    await this.save({
      id: nodeId,
      instanceId: arrival.instanceId,
      connected: true,
      disconnectedAt: undefined,
      region: arrival.region,
      capacity: arrival.capacity,
      load: arrival.load,
      registeredAt: sameProcess ? previous.registeredAt : now,
      lastHeartbeat: now,
      placedSinceHeartbeat: 0,
      // An admin's drain outlives a restart; the node's own (SIGTERM) ends with its process.
      draining: restarted && previous.selfDrained ? false : (previous?.draining ?? false),
      selfDrained: restarted ? false : previous?.selfDrained,
    });
    if (!sameProcess) await this.moveRoomsOff(nodeId, "the media server restarted");
    return { keepRooms: sameProcess ? this.roomsOn(nodeId) : [] };
  }

  async heartbeat(nodeId: string, load: NodeLoad, now: number): Promise<void> {
    const node = this.nodes.get(nodeId);
    if (node?.connected) await this.save({ ...node, load, lastHeartbeat: now, placedSinceHeartbeat: 0 });
  }

  /**
   * The node is gone (its socket closed and it did not come back within the grace, or it went
   * silent). `instanceId` guards against a late report about a process that has since been replaced.
   */
  async nodeDown(nodeId: string, instanceId: string, why: string): Promise<void> {
    const node = this.nodes.get(nodeId);
    if (!node || node.instanceId !== instanceId || !node.connected) return;
    const now = Date.now();
    await this.save({ ...node, connected: false, disconnectedAt: now });
    await this.moveRoomsOff(nodeId, why);
    await this.scheduleAlarm(now);
  }

  /** Forgets nodes down for NODE_FORGET_AFTER_MS: their records leave storage. Returns their ids. */
  async forgetDeparted(now: number): Promise<string[]> {
    const gone = departedNodes([...this.nodes.values()], new Set(this.placements.values()), now, forgetAfterMs(this.env));
    for (const id of gone) this.nodes.delete(id);
    if (gone.length > 0) await this.ctx.storage.delete(gone.map((id) => `node:${id}`));
    return gone;
  }

  /**
   * Backstop: a node still marked connected whose heartbeats stopped (its node object normally
   * notices first) is taken down here.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    // Three times the node object's own limit: a backstop for a node object that failed, not a
    // second judge that, after a stall of this (single, fleet-wide) object, would read heartbeats
    // still queued as missing and move every room of a live node.
    const stale = BACKSTOP_STALE_FACTOR * staleAfterMs(this.env);
    for (const node of this.nodes.values()) {
      if (node.connected && !isHealthy(node, now, stale)) await this.nodeDown(node.id, node.instanceId, "the media server stopped responding");
    }
    await this.forgetDeparted(now);
    await this.scheduleAlarm(Date.now(), true);
  }

  /** Next health check while rooms are placed; else, the next departed node to forget, if any. `replace` (from the alarm itself) sets it whatever is set. */
  private async scheduleAlarm(now: number, replace = false): Promise<void> {
    const forgets = [...this.nodes.values()].map((n) => forgetAt(n, forgetAfterMs(this.env))).filter((t): t is number => t !== null);
    const next = this.placements.size > 0 ? now + HEALTH_CHECK_MS : forgets.length > 0 ? Math.max(now, Math.min(...forgets)) : null;
    if (next === null) return;
    const current = replace ? null : await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }

  /**
   * Draining a node: it gets no new rooms, and its rooms move to other nodes now (their
   * participants publish again there). Undraining only makes it eligible again.
   */
  async setDraining(nodeId: string, draining: boolean, by: "admin" | "node" = "admin"): Promise<NodeRecord | null> {
    const node = this.nodes.get(nodeId);
    if (!node) return null;
    await this.save({ ...node, draining, selfDrained: draining && by === "node" });
    if (draining) await this.moveRoomsOff(nodeId, "the media server is being drained", { stillForwarding: node.connected });
    return this.nodes.get(nodeId)!;
  }

  /** Rooms and the node each is placed on. */
  async rooms(): Promise<Array<{ room: string; nodeId: string }>> {
    return [...this.placements].map(([room, nodeId]) => ({ room, nodeId }));
  }

  /** Forgets a room's placement (it emptied); a later join places it afresh. */
  async release(room: string, nodeId: string): Promise<void> {
    if (this.placements.get(room) !== nodeId) return;
    this.placements.delete(room);
    await this.ctx.storage.delete(`room:${room}`);
  }

  async place(room: string, now: number, preferRegion?: string): Promise<{ id: string } | null> {
    const node = chooseNode([...this.nodes.values()], now, staleAfterMs(this.env), preferRegion);
    if (!node) return null;
    await this.save({ ...node, placedSinceHeartbeat: node.placedSinceHeartbeat + 1 });
    this.placements.set(room, node.id);
    await this.ctx.storage.put(`room:${room}`, node.id);
    await this.scheduleAlarm(now);
    return { id: node.id };
  }

  async list(now: number): Promise<NodeView[]> {
    const stale = staleAfterMs(this.env);
    return [...this.nodes.values()].map((n) => ({ ...n, healthy: isHealthy(n, now, stale) }));
  }

  private roomsOn(nodeId: string): string[] {
    return [...this.placements].filter(([, id]) => id === nodeId).map(([room]) => room);
  }

  /**
   * Unplaces every room on the node and tells each to move (each is placed afresh by its move).
   * Not awaited: a moving room calls back into place(), and the node's object waits on this one.
   */
  private async moveRoomsOff(nodeId: string, why: string, opts: { stillForwarding?: boolean } = {}): Promise<void> {
    const rooms = this.roomsOn(nodeId);
    if (rooms.length === 0) return;
    for (const room of rooms) this.placements.delete(room);
    await this.ctx.storage.delete(rooms.map((room) => `room:${room}`));
    for (const room of rooms) {
      void roomStub(this.env, room).moveOffNode(nodeId, why, opts).catch((err: Error) => console.error("could not move room", room, err.message));
    }
  }

  private async save(node: NodeRecord): Promise<void> {
    this.nodes.set(node.id, node);
    await this.ctx.storage.put(`node:${node.id}`, node);
  }
}
