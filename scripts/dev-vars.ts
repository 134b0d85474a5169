/** Local development secrets in `.dev.vars` (git-ignored), created with random values on first use. */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./system.ts";

export interface DevSecrets {
  FLEET_SECRET: string;
  ROOM_TOKEN_SECRET: string;
}

const FILE = join(ROOT, ".dev.vars");

export function devSecrets(): DevSecrets {
  if (!existsSync(FILE)) {
    writeFileSync(
      FILE,
      "# DEV ONLY: random secrets for `npm start` and `npm run token`. Never use these in production;\n" +
        "# there, set them with `wrangler secret put` and in the media nodes' environment.\n" +
        `FLEET_SECRET=${randomBytes(24).toString("hex")}\nROOM_TOKEN_SECRET=${randomBytes(24).toString("hex")}\n`,
      { mode: 0o600 },
    );
  }
  const vars = Object.fromEntries(
    readFileSync(FILE, "utf8")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]),
  );
  if (!vars.FLEET_SECRET || !vars.ROOM_TOKEN_SECRET) throw new Error(`${FILE} lacks FLEET_SECRET or ROOM_TOKEN_SECRET; delete it to regenerate`);
  return { FLEET_SECRET: vars.FLEET_SECRET, ROOM_TOKEN_SECRET: vars.ROOM_TOKEN_SECRET };
}
