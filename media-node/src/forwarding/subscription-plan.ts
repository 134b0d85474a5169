/**
 * Which tracks a subscriber must add and drop so that it receives exactly `wanted`
 * (every published track in the room but its own).
 */
export function planSubscriptions(wanted: Iterable<string>, current: Iterable<string>): { add: string[]; remove: string[] } {
  const want = new Set(wanted);
  const have = new Set(current);
  return {
    add: [...want].filter((id) => !have.has(id)),
    remove: [...have].filter((id) => !want.has(id)),
  };
}
