/**
 * `npm run token -- --admin-api` mints an admin API token, with ADMIN_TOKEN_SECRET from the environment
 * or the dev-only one in `.dev.vars`. Otherwise it mints a room token: `npm run token -- --room demo --identity alice [--name Alice] [--ttl 3600]
 * [--no-publish] [--no-subscribe] [--admin]`. The secret is ROOM_TOKEN_SECRET from the
 * environment, or the dev-only one in `.dev.vars`. Prints the token and a link that joins with it.
 */
import { parseArgs } from "node:util";
import { RoomName, signAdminToken, signRoomToken } from "@sfu/shared";
import { devSecrets } from "./dev-vars.ts";

const { values } = parseArgs({
  options: {
    room: { type: "string" },
    identity: { type: "string" },
    name: { type: "string" },
    ttl: { type: "string", default: "3600" },
    "no-publish": { type: "boolean", default: false },
    "no-subscribe": { type: "boolean", default: false },
    admin: { type: "boolean", default: false },
    "admin-api": { type: "boolean", default: false },
    url: { type: "string", default: process.env.BASE_URL ?? "http://127.0.0.1:8787" },
  },
});

if (values["admin-api"]) {
  const secret = process.env.ADMIN_TOKEN_SECRET || devSecrets().ADMIN_TOKEN_SECRET;
  process.stdout.write(`${await signAdminToken(secret, values.identity ?? "admin", Number(values.ttl), Date.now())}\n`);
  process.exit(0);
}
const room = RoomName.safeParse(values.room);
if (!room.success || !values.identity) {
  process.stderr.write("usage: npm run token -- --room <room> --identity <id> [--name <display name>] [--ttl <seconds>] [--no-publish] [--no-subscribe] [--admin]\n");
  process.exit(2);
}
const secret = process.env.ROOM_TOKEN_SECRET || devSecrets().ROOM_TOKEN_SECRET;
const token = await signRoomToken(
  secret,
  {
    sub: values.identity,
    name: values.name,
    room: room.data,
    grants: { canPublish: !values["no-publish"], canSubscribe: !values["no-subscribe"], canAdmin: values.admin },
  },
  Number(values.ttl),
  Date.now(),
);
process.stdout.write(`${token}\n${values.url}/${room.data}?name=${encodeURIComponent(values.name ?? values.identity)}&token=${token}\n`);
