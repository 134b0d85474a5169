import { DurableObject } from "cloudflare:workers";
import type { NodeHeartbeat, NodeRegistration } from "@sfu/shared";
import { staleAfterMs, type Env } from "./env.ts";
import { chooseNode, isHealthy, type NodeRecord } from "./placement.ts";

export interface PlacedNode {
  id: string;
  url: string;
}

export interface NodeView extends NodeRecord {
  healthy: boolean;
}

/** The fleet of media nodes: who registered, their load, and where new rooms go. One instance ("global"). */
export class NodeRegistryDO extends DurableObject<Env> {
  private nodes = new Map<string, NodeRecord>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<NodeRecord>({ prefix: "node:" });
      for (const node of stored.values()) this.nodes.set(node.id, node);
    });
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

  async place(now: number, preferRegion?: string): Promise<PlacedNode | null> {
    const node = chooseNode([...this.nodes.values()], now, staleAfterMs(this.env), preferRegion);
    if (!node) return null;
    await this.save({ ...node, placedSinceHeartbeat: node.placedSinceHeartbeat + 1 });
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
