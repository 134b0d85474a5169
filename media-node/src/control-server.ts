import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  CandidateRequest,
  CONTROL_PROTOCOL_VERSION,
  ImpairRequest,
  MAX_CONTROL_BYTES,
  MuteRequest,
  PreferencesRequest,
  PublishRequest,
  ReplayGuard,
  SIGNATURE_HEADER,
  SubscriberAnswerRequest,
  verifyRequest,
  type ControlError,
  type ControlErrorCode,
} from "@sfu/shared";
import { z } from "zod";
import { log } from "./log.ts";
import { LinkImpairment } from "./egress/impairment.ts";
import type { MediaNode } from "./media-node.ts";
import { NegotiationError } from "./subscriber.ts";

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const ParticipantRoute = /^\/rooms\/([A-Za-z0-9_-]{1,64})\/participants\/([A-Za-z0-9-]{1,64})(?:\/(publish|subscriber\/offer|subscriber\/answer|candidate|mute|preferences|impair))?$/;
const EmptyBody = z.object({}).strict();

/** The node's control API: signed calls from the worker that drive each participant's PeerConnections. */
export function createControlServer(node: MediaNode, secret: string, nodeId: string, opts: { allowImpairment?: boolean } = {}): Server {
  const replays = new ReplayGuard();
  return createServer((req, res) => {
    const started = performance.now();
    res.once("finish", () => log("debug", "control call", { method: req.method, path: req.url, status: res.statusCode, ms: Math.round(performance.now() - started) }));
    handle(req, res).catch((err) => {
      const e = err instanceof HttpError ? err : new HttpError(500, "internal", "internal error");
      if (!(err instanceof HttpError)) log("error", "control call failed", { error: String(err), stack: (err as Error).stack });
      reply(res, e.status, { error: e.code, message: e.message } satisfies ControlError);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://node");
    if (req.method === "GET" && url.pathname === "/healthz") return reply(res, 200, { ok: true, nodeId, rooms: node.rooms.size, pid: process.pid });
    const body = await readBody(req);
    const verdict = await verifyRequest(secret, req.headers[SIGNATURE_HEADER] as string | undefined, req.method ?? "", url.pathname, body, Date.now());
    if (!verdict.ok) throw new HttpError(401, "unauthorized", verdict.reason);
    if (!replays.firstUse(req.headers[SIGNATURE_HEADER] as string, Date.now())) throw new HttpError(401, "unauthorized", "replayed request");
    const version = req.headers["x-sfu-control-version"];
    if (version !== String(CONTROL_PROTOCOL_VERSION)) {
      throw new HttpError(400, "unsupported-version", `control protocol v${String(version)} is not supported; this node speaks v${CONTROL_PROTOCOL_VERSION}`);
    }
    const match = ParticipantRoute.exec(url.pathname);
    if (!match) throw new HttpError(404, "not-found", `no route ${req.method} ${url.pathname}`);
    const [, roomId, participantId, action] = match as unknown as [string, string, string, string | undefined];
    const json = body ? parseJson(body) : {};

    if (req.method === "DELETE" && action === undefined) {
      return reply(res, 200, { removedTracks: node.removeParticipant(roomId, participantId) });
    }
    if (req.method !== "POST" || action === undefined) throw new HttpError(405, "bad-request", `${req.method} not allowed here`);
    const existed = node.existingRoom(roomId)?.participants.has(participantId) ?? false;
    // Tile sizes are about a participant's subscriptions: they never create one.
    if (action === "preferences" && !existed) throw new HttpError(404, "not-found", "no such participant");
    try {
      return await participantCall(action, roomId, participantId, json, res);
    } catch (err) {
      // A call that failed for a participant it created leaves nothing behind (no state per bad call).
      if (!existed) node.removeParticipant(roomId, participantId);
      throw err;
    }
  }

  async function participantCall(action: string, roomId: string, participantId: string, json: unknown, res: ServerResponse): Promise<void> {
    const now = Date.now();
    const room = node.room(roomId);
    const participant = room.participant(participantId);
    switch (action) {
      case "publish": {
        const { sdp } = parse(PublishRequest, json);
        const { answer } = await negotiation(() => participant.publisher.negotiate(sdp));
        return reply(res, 200, answer);
      }
      case "subscriber/offer": {
        parse(EmptyBody, json);
        return reply(res, 200, await negotiation(() => participant.subscriber.offer(room.tracksFor(participantId), now)));
      }
      case "subscriber/answer": {
        const { sdp } = parse(SubscriberAnswerRequest, json);
        return reply(res, 200, await negotiation(() => participant.subscriber.answer(sdp, room.tracksFor(participantId), now)));
      }
      case "mute": {
        const { kind, muted } = parse(MuteRequest, json);
        for (const track of participant.tracks) if (track.kind === kind) track.setMuted(muted);
        return reply(res, 200, {});
      }
      case "preferences": {
        const { tracks } = parse(PreferencesRequest, json);
        // Preferences never create a subscriber: there is nothing to apply them to yet.
        participant.existingSubscriber?.setPreferences(tracks, now);
        return reply(res, 200, {});
      }
      case "candidate": {
        const { target, candidate } = parse(CandidateRequest, json);
        const pc = target === "publisher" ? participant.publisher : participant.subscriber;
        await negotiation(() => pc.addCandidate(candidate));
        return reply(res, 200, {});
      }
      case "impair": {
        if (!opts.allowImpairment) throw new HttpError(404, "not-found", "impairment is off on this node (DEBUG_IMPAIRMENT)");
        const { kbps, lossPercent } = parse(ImpairRequest, json);
        participant.subscriber.egress.impairment = kbps === undefined && !lossPercent ? undefined : new LinkImpairment(kbps, lossPercent);
        return reply(res, 200, {});
      }
      default:
        throw new HttpError(404, "not-found", "unknown action");
    }
  }
}

/** werift throws plain Errors on SDP it cannot use; those are the caller's fault, not a node failure. */
async function negotiation<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const message = err instanceof NegotiationError ? err.message : `negotiation failed: ${(err as Error).message}`;
    throw new HttpError(422, "negotiation-failed", message);
  }
}

function parse<S extends z.ZodType>(schema: S, json: unknown): z.infer<S> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, "bad-request", `invalid body${issue?.path.length ? ` at ${issue.path.join(".")}` : ""}: ${issue?.message}`);
  }
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "bad-request", "body is not JSON");
  }
}

/** Reads the body; one over the limit is drained without being kept and refused with 413. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_CONTROL_BYTES) chunks.push(chunk);
      else if (size > 16 * MAX_CONTROL_BYTES) req.destroy();
    });
    req.on("end", () => {
      if (size > MAX_CONTROL_BYTES) reject(new HttpError(413, "payload-too-large", `body exceeds ${MAX_CONTROL_BYTES} bytes`));
      else resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
