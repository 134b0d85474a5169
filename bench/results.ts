import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Replaces the `<!-- name -->…<!-- /name -->` section of a results file (appending it if absent), keeping the rest. */
export function writeSection(file: string, name: string, report: string): void {
  const begin = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const current = existsSync(file) ? readFileSync(file, "utf8") : "";
  const start = current.indexOf(begin);
  const stop = current.indexOf(end);
  const next = start >= 0 && stop > start
    ? `${current.slice(0, start + begin.length)}\n${report}${current.slice(stop)}`
    : `${current}\n${begin}\n${report}${end}\n`;
  writeFileSync(file, next);
}
