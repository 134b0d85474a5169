// @ts-check
// The browser app: join a room, publish camera + mic, show everyone else. Speaks protocol v1 of shared/src/room-protocol.ts.
const V = 1;
const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (document.querySelector(sel));

const grid = $("#grid");
const conn = $("#conn");
const notice = $("#notice");
const lobby = /** @type {HTMLFormElement} */ ($("#lobby"));
const controls = $("#controls");
const micButton = $("#mic");
const camButton = $("#cam");

/** @typedef {{ id: string, kind: "audio"|"video", muted: boolean }} TrackInfo */
/** @typedef {{ id: string, name: string, tracks: TrackInfo[] }} ParticipantInfo */
/** @typedef {{ mid: string, trackId: string, participantId: string, kind: "audio"|"video" }} SubscribedTrack */

/**
 * Simulcast: three VP8 layers of the camera (160×120, 320×240, 640×480 from a 640×480 camera),
 * lowest first. The media node forwards each subscriber the layer that fits its tile and tells us
 * (publish-layers) which ones nobody needs, which we then pause.
 */
const SIMULCAST = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];
/**
 * `?relay=1`: send all media through the TURN relay (iceTransportPolicy "relay"), as a network that
 * blocks direct UDP forces anyway; for testing a deployment's TURN server, or for users who want
 * the media server never to see their own address.
 */
const RELAY_ONLY = new URLSearchParams(location.search).get("relay") === "1";
/** Longest wait before asking the room again to restart media that keeps failing to connect. */
const MAX_RESTART_BACKOFF_MS = 30_000;
/** Tile sizes are reported this long after they stop changing. */
const PREFS_DEBOUNCE_MS = 300;
/** After a media restart, the old subscriber plays on until the new one has been connected this long… */
const RETIRE_SETTLE_MS = 2000;
/** …and the old publisher (others may still watch it on the old node) at most this long. */
const RETIRE_AFTER_MS = 12_000;
/** A held video track takes over at most this long after media first arrives on it, decoded or not. */
const DECODE_WAIT_MS = 3000;
const MAX_PREFS_TRACKS = 64;

/** One visit to a room: the signaling socket, the two PeerConnections and the tiles. */
class Session {
  /** @param {string} room @param {string} name @param {string} token */
  constructor(room, name, token) {
    this.room = room;
    this.name = name;
    this.selfId = "";
    /** @type {Map<string, ParticipantInfo>} */
    this.participants = new Map();
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    /** @type {Map<string, SubscribedTrack>} mid → remote track */
    this.subscribed = new Map();
    /** @type {MediaStream | null} */
    this.local = null;
    /** @type {RTCPeerConnection | null} */
    this.publisher = null;
    /** @type {RTCPeerConnection | null} */
    this.subscriber = null;
    /** @type {Record<string, RTCRtpSender>} */
    this.senders = {};
    this.muted = { audio: false, video: false };
    this.left = false;
    this.token = token;
    this.resumeSecret = "";
    this.reconnects = 0;
    this.restartRequested = false;
    /** @type {RTCIceServer[]} from `joined` (TURN with fresh credentials, or none) */
    this.iceServers = [];
    /** Media attempts in a row whose PeerConnections never connected (backs off the restarts). */
    this.failedAttempts = 0;
    /** Counts media restarts: a delayed restart request is dropped if media restarted meanwhile. */
    this.mediaGeneration = 0;
    /** @type {string | null} the plain-words notice shown while media cannot connect */
    this.mediaNotice = null;
    /**
     * The previous media connections after a restart, playing on until the new ones carry media: the
     * old subscriber until ours has connected, the old publisher (which others may still be
     * watching on the old node) until the room frees the old node or RETIRE_AFTER_MS.
     * @type {{ publisher: RTCPeerConnection | null, subscriber: RTCPeerConnection | null }}
     */
    this.retiring = { publisher: null, subscriber: null };
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retireTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retireSubscriberTimer = undefined;
    /** @type {WeakSet<MediaStreamTrack>} new tracks waiting for media before they replace the old ones */
    this.held = new WeakSet();
    /** How many of them are still waiting. */
    this.holding = 0;
    /** @type {Map<string, string>} trackId → "W×H" last reported to the room */
    this.reportedSizes = new Map();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.prefsTimer = undefined;
    /** Remote tiles' size changes are reported to the room (the node picks simulcast layers from them). */
    this.resizes = new ResizeObserver(() => this.schedulePrefs());
    /** @type {string[] | null} the rids the node last asked us to send (null: all) */
    this.publishedLayers = null;
    // One message at a time: each may await SDP work that the next one depends on.
    this.inbox = Promise.resolve();
    /** @type {WebSocket} */
    this.ws = this.connect();
    this.setState("connecting", "connecting…");
    this.statsTimer = setInterval(() => this.updateStats().catch(() => {}), 1000);
  }

  /** Opens the signaling socket: a first join, or a resume of this participant after a drop. */
  connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/rooms/${encodeURIComponent(this.room)}/ws?token=${encodeURIComponent(this.token)}`);
    ws.onopen = () => {
      mark("signaling open");
      if (this.selfId && this.resumeSecret) this.send({ type: "resume", participantId: this.selfId, secret: this.resumeSecret });
      else this.send({ type: "join", name: this.name });
    };
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      this.inbox = this.inbox.then(() => this.onMessage(msg)).catch((err) => this.fail(err));
    };
    ws.onclose = (e) => {
      if (this.left || ws !== this.ws) return;
      const final = {
        4001: "Please reload: the app is out of date.",
        4002: "You rejoined this room from another window.",
        4003: "The room was closed.",
        4004: "You were removed from the room.",
      }[e.code];
      // Never admitted at all, several times over: the link's token is invalid or expired.
      const refused = !this.selfId && this.reconnects >= 3 ? "Could not join the room: the link may be invalid or expired." : undefined;
      if (final || refused) {
        // Kicked, replaced, the room was closed, or this app is too old: this visit is over.
        this.left = true;
        this.close();
        showNotice(final ?? refused ?? "");
        this.setState("closed", "not in a room");
        lobby.hidden = false;
        return;
      }
      // The socket dropped: media keeps flowing meanwhile; reconnect with backoff and resume.
      const delay = Math.min(4000, 250 * 2 ** this.reconnects++);
      this.setState("reconnecting", `reconnecting in ${(delay / 1000).toFixed(1)} s…`);
      mark("signaling lost");
      setTimeout(() => {
        if (!this.left) this.ws = this.connect();
      }, delay);
    };
    return ws;
  }

  /** @param {Record<string, unknown>} body */
  send(body) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ v: V, ...body }));
  }

  /** @param {any} msg */
  async onMessage(msg) {
    switch (msg.type) {
      case "joined": {
        mark(msg.resumed ? "resumed" : "joined");
        this.selfId = msg.participantId;
        this.resumeSecret = msg.resumeSecret;
        // Fresh credentials on every joined: the PeerConnections made from now on use them.
        this.iceServers = msg.iceServers ?? [];
        this.reconnects = 0;
        const present = new Set(msg.participants.map((/** @type {ParticipantInfo} */ p) => p.id));
        for (const id of [...this.participants.keys()]) if (!present.has(id)) this.dropParticipant(id);
        for (const p of msg.participants) this.upsert(p);
        this.renderConnection();
        controls.hidden = false;
        if (!msg.resumed) await this.publish();
        return;
      }
      case "participant-joined":
      case "participant-updated":
        this.upsert(msg.participant);
        return;
      case "participant-left":
        this.dropParticipant(msg.participantId);
        return;
      case "publish-answer":
        mark("publish answer");
        await this.publisher?.setRemoteDescription({ type: "answer", sdp: msg.sdp });
        await this.singleLayerFallback();
        return;
      case "publish-layers":
        await this.setPublishedLayers(msg.trackId, msg.rids);
        return;
      case "subscriber-offer":
        mark("subscriber offer");
        await this.answerSubscriber(msg.sdp, msg.tracks);
        return;
      case "active-speaker":
        for (const [id, tile] of this.tiles) tile.el.classList.toggle("speaking", id === msg.participantId);
        return;
      case "force-mute":
        if (!this.muted[/** @type {"audio"|"video"} */ (msg.kind)]) await this.toggle(msg.kind);
        showNotice(`An admin turned off your ${msg.kind === "audio" ? "microphone" : "camera"}.`);
        return;
      case "error":
        if (msg.code === "media-failed" || msg.code === "media-moved") return this.restartMedia(msg.code === "media-moved");
        // Tile sizes are a hint: a lost one costs a better layer for a while, not worth a notice.
        if (msg.inReplyTo === "subscription-prefs") return console.warn("tile sizes not applied", msg.message);
        if (msg.code === "resume-failed") return this.rejoin();
        if (msg.code === "forbidden" && msg.inReplyTo === "set-muted" && this.lastUnmuted) {
          // An admin's mute stands: turn it back off here too.
          await this.toggle(this.lastUnmuted);
          showNotice(msg.message);
          return;
        }
        showNotice(`${msg.code}: ${msg.message}`);
        if (msg.code === "no-media-node") this.setState("failed", "no media server available");
        return;
    }
  }

  /** @param {string} id */
  dropParticipant(id) {
    this.participants.delete(id);
    const tile = this.tiles.get(id);
    if (tile) this.resizes.unobserve(tile.video);
    tile?.remove();
    this.tiles.delete(id);
    this.schedulePrefs();
  }

  /** Reports changed remote video tile sizes (device px; 0×0 when hidden or gone) once they settle. */
  schedulePrefs() {
    clearTimeout(this.prefsTimer);
    this.prefsTimer = setTimeout(() => this.reportPrefs(), PREFS_DEBOUNCE_MS);
  }

  reportPrefs() {
    /** @type {{ trackId: string, width: number, height: number }[]} */
    const changed = [];
    const current = new Set();
    for (const t of this.subscribed.values()) {
      if (t.kind !== "video") continue;
      current.add(t.trackId);
      const tile = this.tiles.get(t.participantId);
      const [width, height] = tile ? tile.renderedSize() : [0, 0];
      const key = `${width}x${height}`;
      if (this.reportedSizes.get(t.trackId) === key) continue;
      this.reportedSizes.set(t.trackId, key);
      changed.push({ trackId: t.trackId, width, height });
    }
    for (const id of [...this.reportedSizes.keys()]) if (!current.has(id)) this.reportedSizes.delete(id);
    for (let i = 0; i < changed.length; i += MAX_PREFS_TRACKS) this.send({ type: "subscription-prefs", tracks: changed.slice(i, i + MAX_PREFS_TRACKS) });
  }

  /** Simulcast refused (the answer kept one encoding, the lowest): send that one at full size instead. */
  async singleLayerFallback() {
    const sender = this.senders.video;
    if (!sender) return;
    const params = sender.getParameters();
    const only = params.encodings?.length === 1 ? params.encodings[0] : undefined;
    if (!only || (only.scaleResolutionDownBy ?? 1) === 1) return;
    only.scaleResolutionDownBy = 1;
    only.maxBitrate = SIMULCAST[SIMULCAST.length - 1]?.maxBitrate;
    await sender.setParameters(params);
  }

  /** Dynacast: keep sending only the simulcast layers someone receives. @param {string} trackId @param {string[]} rids */
  async setPublishedLayers(trackId, rids) {
    const kind = this.participants.get(this.selfId)?.tracks.find((t) => t.id === trackId)?.kind;
    const sender = kind === "video" ? this.senders.video : undefined;
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    let changed = false;
    for (const e of params.encodings) {
      const active = e.rid !== undefined && rids.includes(e.rid);
      if (e.active !== active) [e.active, changed] = [active, true];
    }
    this.publishedLayers = rids;
    if (changed) await sender.setParameters(params);
  }

  /** The room no longer knows us (the grace period passed): join again as a new participant. */
  async rejoin() {
    mark("rejoin");
    this.retireConnections();
    this.publisher?.close();
    this.subscriber?.close();
    this.publisher = this.subscriber = null;
    this.subscribed = new Map();
    this.senders = {};
    for (const id of [...this.participants.keys()]) this.dropParticipant(id);
    this.selfId = this.resumeSecret = "";
    this.send({ type: "join", name: this.name });
  }

  /** @param {ParticipantInfo} p */
  upsert(p) {
    this.participants.set(p.id, p);
    let tile = this.tiles.get(p.id);
    if (!tile) {
      tile = new Tile(p, p.id === this.selfId);
      this.tiles.set(p.id, tile);
      if (tile.local && this.local) tile.setStream(this.local);
      else this.resizes.observe(tile.video);
      this.attachSubscribed(p.id);
    }
    tile.update(p);
    // A camera turned off or on hides or shows the tile's video without resizing it.
    if (!tile.local) this.schedulePrefs();
  }

  async publish() {
    this.local ??= await getLocalMedia();
    mark("local media");
    const selfTile = this.tiles.get(this.selfId);
    if (this.local) selfTile?.setStream(this.local);
    if (!this.local || this.local.getTracks().length === 0) {
      showNotice("No camera or microphone: you are receive-only.");
      micButton.hidden = camButton.hidden = true;
      return;
    }
    micButton.hidden = this.local.getAudioTracks().length === 0;
    camButton.hidden = this.local.getVideoTracks().length === 0;
    await this.sendLocalTracks();
  }

  async sendLocalTracks() {
    if (!this.local) return;
    const pc = (this.publisher = this.newPeer("publisher"));
    for (const track of this.local.getTracks()) {
      /** @type {RTCRtpTransceiverInit} */
      const init = { direction: "sendonly", streams: [this.local] };
      let transceiver;
      try {
        transceiver = pc.addTransceiver(this.muted[track.kind] ? null : track, track.kind === "video" ? { ...init, sendEncodings: SIMULCAST } : init);
      } catch {
        // No simulcast here: one layer.
        transceiver = pc.addTransceiver(this.muted[track.kind] ? null : track, init);
      }
      this.senders[track.kind] = transceiver.sender;
    }
    this.publishedLayers = null;
    await pc.setLocalDescription(await pc.createOffer());
    this.send({ type: "publish", sdp: pc.localDescription?.sdp });
    for (const kind of /** @type {const} */ (["audio", "video"])) if (this.muted[kind]) this.send({ type: "set-muted", kind, muted: true });
  }

  /**
   * Our media must start over on fresh PeerConnections (the room moved, or ours failed), keeping
   * our place and tiles. When the old node still forwards (a drain), make before break: the old
   * connections keep playing until the new subscriber has connected and its tracks carry media.
   * @param {boolean} oldStillForwards
   */
  async restartMedia(oldStillForwards = false) {
    mark("media restart");
    this.restartRequested = false;
    this.mediaGeneration++;
    this.retireConnections();
    this.retiring = { publisher: this.publisher, subscriber: this.subscriber };
    if (oldStillForwards) this.retireTimer = setTimeout(() => this.retireConnections(), RETIRE_AFTER_MS);
    else this.retireConnections();
    this.publisher = this.subscriber = null;
    this.subscribed = new Map();
    this.senders = {};
    await this.sendLocalTracks();
  }

  /**
   * Closes what a restart left playing (the old subscriber only, or both), and takes the old
   * subscriber's tracks off the tiles. @param {"subscriber" | "both"} which
   */
  retireConnections(which = "both") {
    clearTimeout(this.retireSubscriberTimer);
    const { subscriber, publisher } = this.retiring;
    this.retiring = { publisher: which === "both" ? null : publisher, subscriber: null };
    this.holding = 0;
    if (which === "both") {
      clearTimeout(this.retireTimer);
      publisher?.close();
    }
    if (!subscriber) return;
    const tracks = subscriber.getReceivers().map((r) => r.track);
    subscriber.close();
    for (const tile of this.tiles.values()) for (const t of tracks) tile.dropTrack(t);
    mark("old media closed");
    // Tracks held back until they carried media go on the tiles now, whatever they carry.
    for (const t of this.subscribed.values()) this.attachSubscribed(t.participantId);
  }


  /** @param {string} sdp @param {SubscribedTrack[]} tracks */
  async answerSubscriber(sdp, tracks) {
    const previous = this.subscribed;
    this.subscribed = new Map(tracks.map((t) => [t.mid, t]));
    if (!this.subscriber) this.reportedSizes.clear(); // fresh node state: report every tile again
    const pc = (this.subscriber ??= this.newPeer("subscriber"));
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.send({ type: "subscriber-answer", sdp: pc.localDescription?.sdp });
    // The node reuses m-lines: a mid may now carry another participant's track, or none.
    for (const [mid, old] of previous) {
      if (this.subscribed.get(mid)?.trackId !== old.trackId) this.tiles.get(old.participantId)?.removeTrack(mid);
    }
    for (const t of tracks) this.attachSubscribed(t.participantId);
    this.schedulePrefs();
  }

  /** Puts the received tracks of a participant on its tile (tile and tracks may arrive in either order). @param {string} participantId */
  attachSubscribed(participantId) {
    const tile = this.tiles.get(participantId);
    if (!tile || !this.subscriber) return;
    const subscriber = this.subscriber;
    for (const transceiver of subscriber.getTransceivers()) {
      const info = transceiver.mid ? this.subscribed.get(transceiver.mid) : undefined;
      if (info?.participantId !== participantId) continue;
      const track = transceiver.receiver.track;
      // While the old connection still plays, a new track takes over only once it carries media
      // (video: once frames decode, so the tile never waits on a keyframe with nothing to show).
      if (this.retiring.subscriber && track.muted) {
        if (this.held.has(track)) continue;
        this.held.add(track);
        this.holding++;
        mark(`holding ${track.kind} from ${participantId}`);
        track.addEventListener("unmute", async () => {
          if (track.kind === "video") await decoding(transceiver.receiver);
          mark(`media on new ${track.kind} from ${participantId}`);
          if (this.subscriber === subscriber && this.subscribed.get(info.mid)?.trackId === info.trackId) this.tiles.get(participantId)?.addTrack(track, info.mid);
          // Every new track has taken over: the old subscriber has nothing left to show.
          if (--this.holding === 0 && this.subscriber === subscriber) this.retireConnections("subscriber");
        }, { once: true });
      } else tile.addTrack(track, info.mid);
    }
  }

  /** @param {"publisher"|"subscriber"} role */
  newPeer(role) {
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: this.iceServers, iceTransportPolicy: RELAY_ONLY ? "relay" : "all" });
    let gathered = 0;
    let connected = false;
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        gathered++;
        this.send({ type: "ice-candidate", target: role, candidate: { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } });
      }
    };
    pc.onicecandidateerror = (e) => {
      const err = /** @type {RTCPeerConnectionIceErrorEvent} */ (e);
      console.warn(`${role} ICE candidate error ${err.errorCode} ${err.errorText} (${err.url})`);
    };
    // Not a single candidate (e.g. relay-only and the TURN server unreachable or refusing us): ICE
    // cannot succeed, and Chromium would just stay "connecting".
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === "complete" && gathered === 0) this.mediaUnreachable(pc, role);
    };
    pc.onconnectionstatechange = () => {
      mark(`${role} ${pc.connectionState}`);
      if (pc.connectionState === "connected") {
        connected = true;
        if (role === "subscriber" && this.retiring.subscriber) {
          clearTimeout(this.retireSubscriberTimer);
          this.retireSubscriberTimer = setTimeout(() => this.retireConnections("subscriber"), RETIRE_SETTLE_MS);
        }
        this.failedAttempts = 0;
        if (this.mediaNotice !== null && notice.textContent === this.mediaNotice) notice.hidden = true;
        this.mediaNotice = null;
      }
      this.renderConnection();
      // A failed PeerConnection does not come back by itself: ask the room to start our media over.
      // One that never connected at all most likely cannot get through this network.
      if (pc.connectionState === "failed") {
        if (connected) this.requestRestart(pc);
        else this.mediaUnreachable(pc, role);
      }
    };
    return pc;
  }

  /**
   * A PeerConnection of ours cannot connect (it never did): say so in plain words, then retry,
   * waiting longer each time it fails again.
   * @param {RTCPeerConnection} pc @param {"publisher"|"subscriber"} role
   */
  mediaUnreachable(pc, role) {
    if (pc !== this.publisher && pc !== this.subscriber) return;
    mark(`${role} unreachable`);
    const offered = this.iceServers.some((s) => [s.urls].flat().some((u) => /^turns?:/.test(u)));
    this.mediaNotice = offered
      ? "Media cannot connect, even through the relay server. Your network may block it."
      : RELAY_ONLY
        ? "Media cannot connect: relay-only mode (?relay=1) needs a relay server, and this service offers none."
        : "Media cannot connect. Your network may block UDP.";
    showNotice(this.mediaNotice);
    this.setState("failed", "media cannot connect");
    this.requestRestart(pc);
  }

  /** Asks the room to start our media over (it answers media-failed); backs off while attempts keep failing. @param {RTCPeerConnection} pc */
  requestRestart(pc) {
    if ((pc !== this.publisher && pc !== this.subscriber) || this.restartRequested) return;
    this.restartRequested = true;
    const delay = this.failedAttempts === 0 ? 0 : Math.min(MAX_RESTART_BACKOFF_MS, 1000 * 2 ** (this.failedAttempts - 1));
    this.failedAttempts++;
    const generation = this.mediaGeneration;
    setTimeout(() => {
      if (!this.left && generation === this.mediaGeneration) this.send({ type: "restart-media" });
    }, delay);
  }

  /** Local and remote candidate types of each PeerConnection's selected pair (getStats), e.g. "relay". */
  async selectedCandidates() {
    /** @type {Record<string, { local: string, remote: string, protocol: string } | null>} */
    const out = {};
    for (const [role, pc] of /** @type {const} */ ([["publisher", this.publisher], ["subscriber", this.subscriber]])) {
      out[role] = null;
      if (!pc) continue;
      const report = await pc.getStats();
      /** @type {any} */
      let pair = null;
      report.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
      });
      const local = pair && report.get(pair.localCandidateId);
      const remote = pair && report.get(pair.remoteCandidateId);
      if (local && remote) out[role] = { local: local.candidateType, remote: remote.candidateType, protocol: local.relayProtocol ?? local.protocol };
    }
    return out;
  }

  renderConnection() {
    const states = [this.publisher, this.subscriber].filter(Boolean).map((pc) => /** @type {RTCPeerConnection} */ (pc).connectionState);
    if (states.includes("failed")) this.setState("failed", "media connection failed");
    else if (states.some((s) => s === "disconnected")) this.setState("reconnecting", "media interrupted…");
    else if (states.length && states.every((s) => s === "connected")) this.setState("connected", "connected");
    else if (this.ws.readyState === WebSocket.OPEN) {
      if (states.length) this.setState("connecting", "connecting media…");
      else this.setState("connected", "connected");
    }
  }

  /** @param {string} state @param {string} label */
  setState(state, label) {
    conn.dataset.state = state;
    conn.textContent = label;
  }

  /** @param {"audio"|"video"} kind */
  async toggle(kind) {
    const sender = this.senders[kind];
    const track = this.local?.getTracks().find((t) => t.kind === kind);
    if (!sender || !track) return;
    this.muted[kind] = !this.muted[kind];
    this.lastUnmuted = this.muted[kind] ? null : kind;
    // Replacing the track with null stops sending packets entirely, unlike `enabled = false`.
    await sender.replaceTrack(this.muted[kind] ? null : track);
    track.enabled = !this.muted[kind];
    const button = kind === "audio" ? micButton : camButton;
    button.setAttribute("aria-pressed", String(this.muted[kind]));
    button.textContent = kind === "audio" ? (this.muted[kind] ? "Unmute mic" : "Mute mic") : this.muted[kind] ? "Start camera" : "Stop camera";
    this.send({ type: "set-muted", kind, muted: this.muted[kind] });
  }

  leave() {
    this.left = true;
    this.send({ type: "leave" });
    this.close();
    this.setState("idle", "left the room");
  }

  close() {
    clearInterval(this.statsTimer);
    clearTimeout(this.prefsTimer);
    this.resizes.disconnect();
    this.retireConnections();
    this.ws.close();
    this.publisher?.close();
    this.subscriber?.close();
    this.local?.getTracks().forEach((t) => t.stop());
    for (const tile of this.tiles.values()) tile.remove();
    this.tiles.clear();
    controls.hidden = true;
  }

  /** @param {unknown} err */
  fail(err) {
    console.error(err);
    showNotice(String(err instanceof Error ? err.message : err));
  }

  /** Per remote participant: decoded video and received audio, from getStats(). */
  async remoteStats() {
    /** @type {Record<string, { name: string, video?: any, audio?: any }>} */
    const out = {};
    for (const [id, p] of this.participants) if (id !== this.selfId) out[id] = { name: p.name };
    if (!this.subscriber) return out;
    const report = await this.subscriber.getStats();
    /** @type {any} */
    let pair = null;
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    report.forEach((s) => {
      if (s.type !== "inbound-rtp" || !s.mid) return;
      const info = this.subscribed.get(s.mid);
      const entry = info && out[info.participantId];
      if (!entry) return;
      const common = { packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, bytesReceived: s.bytesReceived, rttMs: pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null, at: s.timestamp };
      if (s.kind === "video") entry.video = { ...common, framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth ?? 0, frameHeight: s.frameHeight ?? 0, fps: s.framesPerSecond ?? 0, nackCount: s.nackCount ?? 0, freezeCount: s.freezeCount ?? 0 };
      else entry.audio = { ...common, totalSamplesReceived: s.totalSamplesReceived ?? 0, audioLevel: s.audioLevel ?? 0 };
    });
    return out;
  }

  /** The publisher's video encodings (one per simulcast layer), from getStats(). */
  async publisherStats() {
    /** @type {any[]} */
    const out = [];
    if (!this.publisher) return out;
    const report = await this.publisher.getStats();
    report.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video") {
        out.push({ rid: s.rid ?? "", bytesSent: s.bytesSent ?? 0, framesEncoded: s.framesEncoded ?? 0, frameWidth: s.frameWidth ?? 0, active: s.active, qualityLimitationReason: s.qualityLimitationReason });
      }
    });
    return out.sort((a, b) => a.rid.localeCompare(b.rid));
  }

  async updateStats() {
    const stats = await this.remoteStats();
    for (const [id, s] of Object.entries(stats)) {
      this.tiles.get(id)?.showStats(s);
    }
  }
}

/** A participant's tile: video (with the audio), name, mute flags and live stats. */
class Tile {
  /** @param {ParticipantInfo} p @param {boolean} local */
  constructor(p, local) {
    this.local = local;
    this.stream = new MediaStream();
    /** @type {Map<string, MediaStreamTrack>} */
    this.byMid = new Map();
    /** @type {Record<string, { bytes: number, at: number }>} */
    this.prev = {};
    this.el = document.createElement("div");
    this.el.className = `tile${local ? " local" : ""} no-video`;
    this.el.dataset.participantId = p.id;
    this.video = document.createElement("video");
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = local;
    this.video.srcObject = this.stream;
    this.nameEl = document.createElement("span");
    this.nameEl.className = "name";
    this.flags = document.createElement("div");
    this.flags.className = "flags";
    this.statsEl = document.createElement("div");
    this.statsEl.className = "stats";
    this.el.append(this.video, this.nameEl, this.flags, this.statsEl);
    grid.append(this.el);
  }

  /** @param {ParticipantInfo} p */
  update(p) {
    this.nameEl.textContent = this.local ? `${p.name} (you)` : p.name;
    this.el.dataset.initial = p.name.slice(0, 1).toUpperCase();
    this.flags.replaceChildren(
      ...p.tracks.filter((t) => t.muted).map((t) => Object.assign(document.createElement("span"), { textContent: t.kind === "audio" ? "mic off" : "camera off" })),
    );
    const videoMuted = p.tracks.some((t) => t.kind === "video" && t.muted);
    const hasVideo = this.stream.getVideoTracks().length > 0;
    this.el.classList.toggle("no-video", videoMuted || !hasVideo);
  }

  /** @param {MediaStream} stream */
  setStream(stream) {
    for (const t of stream.getTracks()) this.stream.addTrack(t);
    this.el.classList.toggle("no-video", stream.getVideoTracks().length === 0);
  }

  /** @param {MediaStreamTrack} track @param {string} mid */
  addTrack(track, mid) {
    if (this.byMid.get(mid) === track) return;
    // One track of each kind: a new one (another m-line, or a new connection after a move) replaces the old.
    for (const [m, t] of [...this.byMid]) {
      if (m === mid || t.kind === track.kind) {
        this.byMid.delete(m);
        this.stream.removeTrack(t);
      }
    }
    this.byMid.set(mid, track);
    this.stream.addTrack(track);
    if (track.kind === "video") {
      this.el.classList.remove("no-video");
      // performance.now() counts from navigation start: this is page load → first remote frame shown.
      this.video.requestVideoFrameCallback?.(() => {
        if (firstFrameMs === null) mark("first remote frame");
        firstFrameMs ??= performance.now();
        // Each newly received video track's first frame on screen (after a media restart too).
        if (this.byMid.get(mid) === track) mark(`frame from ${this.el.dataset.participantId}`);
      });
    }
    this.video.play().catch(() => showNotice("Click anywhere to hear the others."));
  }

  /** The video's rendered size in device pixels; 0×0 when it is not shown. @returns {[number, number]} */
  renderedSize() {
    if (!this.el.isConnected || this.el.classList.contains("no-video")) return [0, 0];
    const r = this.video.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    return [Math.min(16384, Math.round(r.width * dpr)), Math.min(16384, Math.round(r.height * dpr))];
  }

  /** @param {string} mid */
  removeTrack(mid) {
    const track = this.byMid.get(mid);
    if (!track) return;
    this.byMid.delete(mid);
    this.stream.removeTrack(track);
    if (this.stream.getVideoTracks().length === 0) this.el.classList.add("no-video");
  }

  /** Takes `track` off the tile if it is still showing it. @param {MediaStreamTrack} track */
  dropTrack(track) {
    for (const [mid, t] of this.byMid) if (t === track) return this.removeTrack(mid);
  }

  /** @param {{ video?: any, audio?: any }} s */
  showStats(s) {
    const lines = [];
    if (s.video) {
      const kbps = this.rate("video", s.video.bytesReceived, s.video.at);
      const loss = s.video.packetsReceived + s.video.packetsLost > 0 ? (100 * s.video.packetsLost) / (s.video.packetsReceived + s.video.packetsLost) : 0;
      lines.push(`${s.video.frameWidth}×${s.video.frameHeight} ${Math.round(s.video.fps)}fps ${kbps}kbps`);
      lines.push(`loss ${loss.toFixed(1)}%${s.video.rttMs != null ? ` rtt ${Math.round(s.video.rttMs)}ms` : ""}`);
    }
    if (s.audio) lines.push(`audio ${this.rate("audio", s.audio.bytesReceived, s.audio.at)}kbps`);
    this.statsEl.textContent = lines.join("\n");
  }

  /** @param {string} key @param {number} bytes @param {number} at */
  rate(key, bytes, at) {
    const prev = this.prev[key];
    this.prev[key] = { bytes, at };
    return prev && at > prev.at ? Math.round(((bytes - prev.bytes) * 8) / (at - prev.at)) : 0;
  }

  remove() {
    this.el.remove();
  }
}

/** Camera and mic if possible, else whichever exists, else null (receive-only). */
/**
 * Resolves once a video receiver has decoded a frame (its inbound-rtp stats), or after
 * DECODE_WAIT_MS whatever happened. @param {RTCRtpReceiver} receiver
 */
async function decoding(receiver) {
  const deadline = performance.now() + DECODE_WAIT_MS;
  while (performance.now() < deadline) {
    /** @type {number} */
    let decoded = 0;
    (await receiver.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp") decoded = Math.max(decoded, s.framesDecoded ?? 0);
    });
    if (decoded > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function getLocalMedia() {
  if (!navigator.mediaDevices?.getUserMedia) return null;
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
  for (const constraints of [{ audio: true, video }, { audio: false, video }, { audio: true, video: false }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      // try the next combination
    }
  }
  return null;
}

/** @param {string} text */
function showNotice(text) {
  notice.textContent = text;
  notice.hidden = false;
}

/** @type {Session | null} */
let session = null;
/** @type {number | null} */
let firstFrameMs = null;
/** @type {Array<[string, number]>} page-load-relative milestones, for the stats hook */
const timeline = [];
/** @param {string} what */
const mark = (what) => timeline.push([what, Math.round(performance.now())]);

/**
 * The room token comes from the link (`?token=`, minted by the application) or, in local
 * development only, from the worker's /dev/token route, so that a plain room link works.
 * @param {string} room @param {string} name
 */
async function roomToken(room, name) {
  const fromLink = new URLSearchParams(location.search).get("token");
  if (fromLink) return fromLink;
  const res = await fetch(`/dev/token?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error("This room needs an invitation link with a token.");
  return (await res.json()).token;
}

/** @param {string} room @param {string} name */
async function join(room, name) {
  lobby.hidden = true;
  notice.hidden = true;
  $("#room-label").textContent = `room ${room}`;
  document.title = `${room} · Edge SFU`;
  try {
    session = new Session(room, name, await roomToken(room, name));
  } catch (err) {
    showNotice(err instanceof Error ? err.message : String(err));
    lobby.hidden = false;
  }
}

micButton.onclick = () => void session?.toggle("audio");
camButton.onclick = () => void session?.toggle("video");
$("#leave").onclick = () => {
  session?.leave();
  session = null;
  lobby.hidden = false;
};
document.addEventListener("click", () => document.querySelectorAll("video").forEach((v) => v.paused && v.play().catch(() => {})));
lobby.onsubmit = (e) => {
  e.preventDefault();
  const data = new FormData(lobby);
  const room = String(data.get("room"));
  const name = String(data.get("name"));
  history.pushState(null, "", `/${encodeURIComponent(room)}?name=${encodeURIComponent(name)}`);
  void join(room, name);
};
window.addEventListener("pagehide", () => session?.leave());

// Test and debugging hook: live state and getStats() summaries.
Object.assign(window, {
  __sfu: {
    state: () => ({ selfId: session?.selfId, participants: session ? [...session.participants.values()] : [], connection: conn.dataset.state }),
    remoteStats: () => session?.remoteStats() ?? {},
    selectedCandidates: () => session?.selectedCandidates() ?? {},
    publisherStats: () => session?.publisherStats() ?? [],
    publishedLayers: () => session?.publishedLayers ?? null,
    firstFrameMs: () => firstFrameMs,
    timeline: () => timeline,
    /** Drops the signaling socket as a network blip would (the app reconnects and resumes). */
    dropSignaling: () => session?.ws.close(3000, "test: dropped"),
  },
});

const roomFromPath = decodeURIComponent(location.pathname.slice(1));
const nameFromQuery = new URLSearchParams(location.search).get("name");
if (roomFromPath && nameFromQuery) void join(roomFromPath, nameFromQuery);
else {
  lobby.hidden = false;
  const roomInput = /** @type {HTMLInputElement} */ (lobby.elements.namedItem("room"));
  if (roomFromPath) roomInput.value = roomFromPath;
}
