/** Local development secrets in `.dev.vars` (git-ignored), created with random values on first use. */
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./system.ts";

const NAMES = ["FLEET_SECRET", "ROOM_TOKEN_SECRET", "ADMIN_TOKEN_SECRET"] as const;
export type DevSecrets = Record<(typeof NAMES)[number], string>;

const FILE = join(ROOT, ".dev.vars");
const random = () => randomBytes(24).toString("hex");

function read(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(FILE, "utf8")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]),
  );
}

/** The dev secrets; a secret missing from an older `.dev.vars` is generated and appended. */
export function devSecrets(): DevSecrets {
  if (!existsSync(FILE)) {
    writeFileSync(
      FILE,
      "# DEV ONLY: random secrets for `npm start` and `npm run token`. Never use these in production;\n" +
        "# there, set them with `wrangler secret put`; media nodes get only their own NODE_KEY (npm run node-credential).\n",
      { mode: 0o600 },
    );
  }
  const missing = NAMES.filter((name) => !read()[name]);
  if (missing.length > 0) appendFileSync(FILE, missing.map((name) => `${name}=${random()}\n`).join(""));
  const vars = read();
  return Object.fromEntries(NAMES.map((name) => [name, vars[name]!])) as DevSecrets;
}
