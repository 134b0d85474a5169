import { Hono } from "hono";
import { NodeActions, RoomName, TrackKind, verifyAdminToken } from "@sfu/shared";
import { z } from "zod";
import { registry, type Env } from "./env.ts";

/**
 * The admin API, mounted at /admin. Every call needs `Authorization: Bearer <admin token>`
 * (`npm run token -- --admin-api`); bodies and parameters are zod-validated; answers are JSON.
 */
export const admin = new Hono<{ Bindings: Env }>();

const ParticipantId = z.string().min(1).max(64);
const DrainBody = z.object({ draining: z.boolean() });
const MuteBody = z.object({ kind: TrackKind, muted: z.boolean().default(true) });
const ImpairBody = NodeActions.impair.request.pick({ kbps: true, lossPercent: true }).strict();

admin.use("*", async (c, next) => {
  const verdict = await verifyAdminToken(c.env.ADMIN_TOKEN_SECRET, c.req.header("authorization"), Date.now());
  if (!verdict.ok) return c.json({ error: "unauthorized", message: verdict.message }, 401);
  await next();
});

const room = (env: Env, name: string) => env.ROOMS.get(env.ROOMS.idFromName(name));

async function body<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S> | undefined> {
  const parsed = schema.safeParse(await req.json().catch(() => undefined));
  return parsed.success ? parsed.data : undefined;
}

function params(roomName: string | undefined, participantId?: string | undefined) {
  const r = RoomName.safeParse(roomName);
  const p = participantId === undefined ? { success: true as const, data: undefined } : ParticipantId.safeParse(participantId);
  return r.success && p.success ? { room: r.data, participantId: p.data } : undefined;
}

const badRequest = (message: string) => Response.json({ error: "bad-request", message }, { status: 400 });
const notFound = (message: string) => Response.json({ error: "not-found", message }, { status: 404 });

admin.get("/nodes", async (c) => c.json({ nodes: await registry(c.env).list(Date.now()) }));

admin.post("/nodes/:id/drain", async (c) => {
  const b = await body(c.req.raw, DrainBody);
  if (!b) return badRequest("body must be {\"draining\": boolean}");
  const node = await registry(c.env).setDraining(c.req.param("id"), b.draining);
  return node ? c.json({ node }) : notFound("no such node");
});

admin.get("/rooms", async (c) => {
  const placed = await registry(c.env).rooms();
  return c.json({ rooms: await Promise.all(placed.map(({ room: name }) => room(c.env, name).summary())) });
});

admin.get("/rooms/:room", async (c) => {
  const p = params(c.req.param("room"));
  return p ? c.json(await room(c.env, p.room).summary()) : badRequest("bad room name");
});

admin.post("/rooms/:room/close", async (c) => {
  const p = params(c.req.param("room"));
  return p ? c.json({ closed: await room(c.env, p.room).closeRoom() }) : badRequest("bad room name");
});

admin.post("/rooms/:room/participants/:pid/kick", async (c) => {
  const p = params(c.req.param("room"), c.req.param("pid"));
  if (!p) return badRequest("bad room name or participant id");
  return (await room(c.env, p.room).kick(p.participantId!)) ? c.json({ kicked: true }) : notFound("no such connected participant");
});

admin.post("/rooms/:room/participants/:pid/mute", async (c) => {
  const p = params(c.req.param("room"), c.req.param("pid"));
  const b = await body(c.req.raw, MuteBody);
  if (!p || !b) return badRequest("bad room, participant, or body (must be {\"kind\": \"audio\"|\"video\", \"muted\"?: boolean})");
  try {
    return (await room(c.env, p.room).adminMute(p.participantId!, b.kind, b.muted)) ? c.json({ muted: b.muted }) : notFound("no such participant");
  } catch (err) {
    return c.json({ error: "media-node-error", message: `the media node did not apply the mute: ${(err as Error).message}` }, 502);
  }
});

/** Test-only: a narrow or lossy link to one subscriber (the node refuses unless started with DEBUG_IMPAIRMENT=1). */
admin.post("/rooms/:room/participants/:pid/impair", async (c) => {
  const p = params(c.req.param("room"), c.req.param("pid"));
  const b = await body(c.req.raw, ImpairBody);
  if (!p || !b) return badRequest("bad room, participant, or body (must be {\"kbps\"?: 16..1000000, \"lossPercent\"?: 0..100})");
  try {
    return (await room(c.env, p.room).impair(p.participantId!, b)) ? c.json({ impaired: true }) : notFound("no such participant on a media node");
  } catch (err) {
    return c.json({ error: "media-node-error", message: `the media node refused: ${(err as Error).message}` }, 502);
  }
});
