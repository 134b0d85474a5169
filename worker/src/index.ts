import { Hono, type Context } from "hono";
import {
  assertNever,
  DEFAULT_GRANTS,
  DisplayName,
  signRoomToken,
  verifyRoomToken,
  MAX_CONTROL_BYTES,
  NodeEvent,
  NodeHeartbeat,
  NodeRegistration,
  RoomName,
  SIGNATURE_HEADER,
  verifyRequest,
  type NodeAck,
} from "@sfu/shared";
import type { z } from "zod";
import { admin } from "./admin.ts";
import { registry, type Env } from "./env.ts";
import { CLAIMS_HEADER, REGION_HEADER } from "./room-do.ts";

export { RoomDO } from "./room-do.ts";
export { NodeRegistryDO } from "./registry-do.ts";

type AppContext = Context<{ Bindings: Env }>;

const app = new Hono<{ Bindings: Env }>();

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
  return /^[A-Za-z0-9_-]{1,32}$/.test(given) ? given : "local";
}

/** Reads a signed node → worker request: verifies the fleet signature, then the body against `schema`. */
async function signedBody<S extends z.ZodType>(c: AppContext, schema: S): Promise<z.infer<S> | Response> {
  const text = await c.req.text();
  if (new TextEncoder().encode(text).byteLength > MAX_CONTROL_BYTES) return c.json({ error: "payload-too-large", message: "body too large" }, 413);
  const verdict = await verifyRequest(c.env.FLEET_SECRET, c.req.header(SIGNATURE_HEADER), "POST", new URL(c.req.url).pathname, text, Date.now());
  if (!verdict.ok) return c.json({ error: "unauthorized", message: verdict.reason }, 401);
  if (!(await registry(c.env).firstUse(c.req.header(SIGNATURE_HEADER)!, Date.now()))) {
    return c.json({ error: "unauthorized", message: "replayed request" }, 401);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return c.json({ error: "bad-request", message: "body is not JSON" }, 400);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return c.json({ error: "bad-request", message: parsed.error.issues[0]?.message ?? "invalid" }, 400);
  return parsed.data;
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

app.post("/nodes/register", async (c) => {
  const body = await signedBody(c, NodeRegistration);
  if (body instanceof Response) return body;
  const { known } = await registry(c.env).register(body, Date.now());
  return c.json({ ok: true, known } satisfies NodeAck);
});

app.post("/nodes/heartbeat", async (c) => {
  const body = await signedBody(c, NodeHeartbeat);
  if (body instanceof Response) return body;
  const { known } = await registry(c.env).heartbeat(body, Date.now());
  return c.json({ ok: true, known } satisfies NodeAck);
});

app.post("/nodes/events", async (c) => {
  const event = await signedBody(c, NodeEvent);
  if (event instanceof Response) return event;
  switch (event.type) {
    case "participant-failed": {
      const stub = c.env.ROOMS.get(c.env.ROOMS.idFromName(event.room));
      await stub.mediaFailed(event.nodeId, event.participantId);
      return c.json({ ok: true });
    }
    case "active-speaker": {
      await c.env.ROOMS.get(c.env.ROOMS.idFromName(event.room)).activeSpeaker(event.nodeId, event.participantId);
      return c.json({ ok: true });
    }
    case "layer-demand": {
      await c.env.ROOMS.get(c.env.ROOMS.idFromName(event.room)).layerDemand(event.nodeId, event.participantId, event.trackId, event.rids);
      return c.json({ ok: true });
    }
    default:
      return assertNever(event);
  }
});

// The browser app: `/` and `/<room>` are the same page; the room comes from the path.
app.get("/:room?", async (c) => {
  const room = c.req.param("room");
  if (room !== undefined && !RoomName.safeParse(room).success) return c.env.ASSETS.fetch(c.req.raw);
  return c.env.ASSETS.fetch(new Request(new URL("/", c.req.url)));
});

app.all("*", (c) => c.env.ASSETS.fetch(c.req.raw));

export default app;
