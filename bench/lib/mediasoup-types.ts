/**
 * The part of mediasoup 3.8.4's API the bench uses. mediasoup is loaded at run time from its cached
 * build (mediasoup-build.ts), not from the project's node_modules, so its own .d.ts files are not
 * visible to the type checker; these mirror them.
 */

export interface RtcpFeedback {
  type: string;
  parameter?: string;
}

export interface RtpCodecCapability {
  kind: "audio" | "video";
  mimeType: string;
  preferredPayloadType?: number;
  clockRate: number;
  channels?: number;
  parameters?: Record<string, unknown>;
  rtcpFeedback?: RtcpFeedback[];
}

export interface RtpHeaderExtension {
  kind: "audio" | "video";
  uri: string;
  preferredId: number;
  preferredEncrypt?: boolean;
  direction?: "sendrecv" | "sendonly" | "recvonly" | "inactive";
}

export interface RtpCapabilities {
  codecs?: RtpCodecCapability[];
  headerExtensions?: RtpHeaderExtension[];
}

export interface RtpCodecParameters {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  parameters?: Record<string, unknown>;
  rtcpFeedback?: RtcpFeedback[];
}

export interface RtpEncodingParameters {
  ssrc?: number;
  rid?: string;
  rtx?: { ssrc: number };
  scalabilityMode?: string;
  maxBitrate?: number;
}

export interface RtpParameters {
  mid?: string;
  codecs: RtpCodecParameters[];
  headerExtensions?: Array<{ uri: string; id: number; encrypt?: boolean; parameters?: Record<string, unknown> }>;
  encodings?: RtpEncodingParameters[];
  rtcp?: { cname?: string; reducedSize?: boolean; mux?: boolean };
}

export interface IceCandidate {
  foundation: string;
  priority: number;
  ip: string;
  protocol: "udp" | "tcp";
  port: number;
  type: "host";
  tcpType?: "passive";
}

export interface DtlsParameters {
  role?: "auto" | "client" | "server";
  fingerprints: Array<{ algorithm: string; value: string }>;
}

export interface Producer {
  id: string;
  kind: "audio" | "video";
  close(): void;
}

export interface Consumer {
  id: string;
  kind: "audio" | "video";
  rtpParameters: RtpParameters;
  currentLayers: { spatialLayer: number; temporalLayer?: number } | undefined;
  resume(): Promise<void>;
  setPreferredLayers(layers: { spatialLayer: number; temporalLayer?: number }): Promise<void>;
  close(): void;
}

export interface WebRtcTransport {
  id: string;
  iceParameters: { usernameFragment: string; password: string; iceLite?: boolean };
  iceCandidates: IceCandidate[];
  dtlsParameters: DtlsParameters;
  connect(params: { dtlsParameters: DtlsParameters }): Promise<void>;
  produce(options: { kind: "audio" | "video"; rtpParameters: RtpParameters; paused?: boolean }): Promise<Producer>;
  consume(options: { producerId: string; rtpCapabilities: RtpCapabilities; paused?: boolean; mid?: string }): Promise<Consumer>;
  getStats(): Promise<Array<{ availableOutgoingBitrate?: number; iceState?: string; dtlsState?: string }>>;
  close(): void;
}

export interface Router {
  rtpCapabilities: RtpCapabilities;
  createWebRtcTransport(options: {
    listenIps: Array<{ ip: string; announcedIp?: string }>;
    enableUdp?: boolean;
    enableTcp?: boolean;
    preferUdp?: boolean;
    initialAvailableOutgoingBitrate?: number;
  }): Promise<WebRtcTransport>;
  close(): void;
}

export interface Worker {
  pid: number;
  createRouter(options: { mediaCodecs: RtpCodecCapability[] }): Promise<Router>;
  on(event: "died", fn: (err: Error) => void): void;
  close(): void;
}

export interface MediasoupModule {
  version: string;
  createWorker(options: { logLevel?: "debug" | "warn" | "error" | "none"; logTags?: string[]; rtcMinPort?: number; rtcMaxPort?: number }): Promise<Worker>;
}
