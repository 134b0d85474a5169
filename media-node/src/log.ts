const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof levels;

let threshold: number = levels.info;
export function setLogLevel(level: LogLevel): void {
  threshold = levels[level];
}

/** One JSON line per event on stderr; never called on the per-packet path. */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (levels[level] < threshold) return;
  process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields })}\n`);
}
