/** A small typed event emitter: one payload object per event, listeners called in the order they were added. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Array<(event: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, fn: (event: Events[K]) => void): () => void {
    const list = this.listeners.get(name) ?? [];
    list.push(fn as (event: never) => void);
    this.listeners.set(name, list);
    return () => {
      const at = list.indexOf(fn as (event: never) => void);
      if (at >= 0) list.splice(at, 1);
    };
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const list = this.listeners.get(name);
    if (!list) return;
    for (const fn of [...list]) (fn as (event: Events[K]) => void)(event);
  }
}
