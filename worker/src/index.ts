import { Hono } from "hono";
import {
  DEFAULT_GRANTS,
  DisplayName,
  NODE_CONNECT_PATH,
  NODE_PROOF_HEADER,
  Region,
  RoomName,
  signRoomToken,
  verifyNodeProof,
  verifyRoomToken,
} from "@sfu/shared";
import { admin } from "./admin.ts";
import { nodeStub, registry, type Env } from "./env.ts";
import { PROOF_CLAIMS_HEADER } from "./node-do.ts";
import { limitRequestBody } from "./request-body.ts";
import { CLAIMS_HEADER, REGION_HEADER } from "./room-do.ts";

export { RoomDO } from "./room-do.ts";
export { NodeRegistryDO } from "./registry-do.ts";
export { MediaNodeDO } from "./node-do.ts";

const app = new Hono<{ Bindings: Env }>();

app.use("*", limitRequestBody);

app.get("/healthz", async (c) => {
  const nodes = await registry(c.env).list(Date.now());
  return c.json({ ok: true, healthyNodes: nodes.filter((n) => n.healthy).length });
});

app.get("/rooms/:room/ws", async (c) => {
  const room = RoomName.safeParse(c.req.param("room"));
  if (!room.success) return c.json({ error: "bad-room-name", message: room.error.issues[0]?.message }, 400);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return c.json({ error: "upgrade-required", message: "connect with a WebSocket" }, 426);
  }
  const token = await verifyRoomToken(c.env.ROOM_TOKEN_SECRET, c.req.query("token"), room.data, Date.now());
  if (!token.ok) return c.json({ error: token.reason, message: token.message }, token.reason === "wrong-room" ? 403 : 401);
  const stub = c.env.ROOMS.get(c.env.ROOMS.idFromName(room.data));
  const headers = new Headers(c.req.raw.headers);
  headers.set("x-room-name", room.data);
  headers.set(CLAIMS_HEADER, JSON.stringify(token.claims));
  headers.set(REGION_HEADER, callerRegion(c.req.raw));
  return stub.fetch(new Request(c.req.raw, { headers }));
});

/**
 * Where the caller is, for placing its room: Cloudflare's `request.cf.continent` at the edge; in
 * local development (no `cf`), an `x-sfu-region` header or `region` query parameter, else "local".
 */
function callerRegion(req: Request): string {
  const cf = (req as Request & { cf?: { continent?: string } }).cf;
  const given = cf?.continent ?? req.headers.get("x-sfu-region") ?? new URL(req.url).searchParams.get("region") ?? "local";
  return Region.safeParse(given).success ? given : "local";
}

app.route("/admin", admin);

/** Local development only: a token for any room and name, so a plain room link works. */
app.get("/dev/token", async (c) => {
  if (c.env.DEV_MODE !== "true") return c.json({ error: "not-found", message: "tokens are minted by your application server" }, 404);
  const room = RoomName.safeParse(c.req.query("room"));
  const name = DisplayName.safeParse(c.req.query("name"));
  if (!room.success || !name.success) return c.json({ error: "bad-request", message: "room and name are required" }, 400);
  const identity = c.req.query("identity") ?? `guest-${crypto.randomUUID().slice(0, 8)}`;
  const token = await signRoomToken(c.env.ROOM_TOKEN_SECRET, { sub: identity, name: name.data, room: room.data, grants: DEFAULT_GRANTS }, 6 * 3600, Date.now());
  return c.json({ token, identity });
});

/**
 * A media node dials in. Its proof (signed with the fleet secret, fresh) is checked here, before any
 * socket exists; the node's own object then refuses a proof it has seen (single use) and holds the socket.
 */
app.get(NODE_CONNECT_PATH, async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return c.json({ error: "upgrade-required", message: "connect with a WebSocket" }, 426);
  }
  const verdict = await verifyNodeProof(c.env.FLEET_SECRET, c.req.header(NODE_PROOF_HEADER), Date.now());
  if (!verdict.ok) return c.json({ error: "unauthorized", message: `node proof refused: ${verdict.reason}` }, 401);
  const headers = new Headers(c.req.raw.headers);
  headers.set(PROOF_CLAIMS_HEADER, JSON.stringify(verdict.proof));
  return nodeStub(c.env, verdict.proof.nodeId).fetch(new Request(c.req.raw, { headers }));
});

// The browser app: `/` and `/<room>` are the same page; the room comes from the path.
app.get("/:room?", async (c) => {
  const room = c.req.param("room");
  if (room !== undefined && !RoomName.safeParse(room).success) return c.env.ASSETS.fetch(c.req.raw);
  return c.env.ASSETS.fetch(new Request(new URL("/", c.req.url)));
});

app.all("*", (c) => c.env.ASSETS.fetch(c.req.raw));

export default app;
