import { MAX_INVENTORY_PARTICIPANTS, MAX_INVENTORY_ROOMS, type HeldRoom, type NodeEvent } from "@sfu/shared";

/**
 * The node's inventory as events that each fit the protocol's limits: a room with more participants
 * than one entry takes several entries, and more entries than one event takes several events.
 * A room with no participants is listed too (the edge closes it unless the room is still placed here).
 */
export function inventoryEvents(held: ReadonlyMap<string, readonly string[]>): Array<Extract<NodeEvent, { type: "inventory" }>> {
  const entries: HeldRoom[] = [];
  for (const [room, participants] of held) {
    if (participants.length === 0) entries.push({ room, participants: [] });
    for (let i = 0; i < participants.length; i += MAX_INVENTORY_PARTICIPANTS) {
      entries.push({ room, participants: participants.slice(i, i + MAX_INVENTORY_PARTICIPANTS) });
    }
  }
  const events: Array<Extract<NodeEvent, { type: "inventory" }>> = [];
  for (let i = 0; i < entries.length; i += MAX_INVENTORY_ROOMS) events.push({ type: "inventory", rooms: entries.slice(i, i + MAX_INVENTORY_ROOMS) });
  return events;
}
