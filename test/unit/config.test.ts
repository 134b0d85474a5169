import { describe, expect, it } from "vitest";
import { loadConfig } from "../../media-node/src/config.ts";

const KEY = "ab".repeat(32);
const keys = (n: number) => Array.from({ length: n }, (_, i) => i.toString(16).padStart(2, "0").repeat(32));
const BASE = { WORKER_URL: "http://127.0.0.1:8787", NODE_ID: "vm1", NODE_KEY: KEY };

describe("loadConfig", () => {
  it("applies defaults", () => {
    const c = loadConfig({ ...BASE });
    expect(c).toMatchObject({
      WORKER_URL: "http://127.0.0.1:8787",
      NODE_ID: "vm1",
      NODE_KEY: [KEY],
      REGION: "local",
      CAPACITY: 500,
      ANNOUNCED_IP: "127.0.0.1",
      RTC_BIND_IP: "127.0.0.1",
      RTC_MIN_PORT: 40000,
      RTC_MAX_PORT: 49999,
      HEARTBEAT_MS: 2000,
      DRAIN_TIMEOUT_MS: 30_000,
      HEALTH_PORT: 0, // no health endpoint unless asked for
      LOG_LEVEL: "info",
      DEBUG_IMPAIRMENT: "0", // impairment calls are refused unless asked for
    });
  });

  it("takes one node key per worker process, comma-separated", () => {
    expect(loadConfig({ ...BASE, WORKERS: "3", NODE_KEY: keys(3).join(", ") }).NODE_KEY).toEqual(keys(3));
  });

  it("coerces numeric strings", () => {
    const c = loadConfig({ ...BASE, HEALTH_PORT: "9100", DRAIN_TIMEOUT_MS: "5000", CAPACITY: "42", RTC_MIN_PORT: "50000", RTC_MAX_PORT: "50100" });
    expect(c.HEALTH_PORT).toBe(9100);
    expect(c.DRAIN_TIMEOUT_MS).toBe(5000);
    expect(c.CAPACITY).toBe(42);
    expect(c.RTC_MIN_PORT).toBe(50000);
    expect(c.RTC_MAX_PORT).toBe(50100);
  });

  it("has no control port any more: the node dials the edge", () => {
    const c = loadConfig({ ...BASE, CONTROL_PORT: "7100", CONTROL_HOST: "0.0.0.0", PUBLIC_URL: "http://10.0.0.5:7100" }) as Record<string, unknown>;
    expect([c.CONTROL_PORT, c.CONTROL_HOST, c.PUBLIC_URL]).toEqual([undefined, undefined, undefined]);
  });

  it("accepts an https WORKER_URL (the node then dials wss://)", () => {
    expect(loadConfig({ ...BASE, WORKER_URL: "https://sfu.example.com" }).WORKER_URL).toBe("https://sfu.example.com");
  });

  it("accepts RTC_MIN_PORT equal to RTC_MAX_PORT", () => {
    const c = loadConfig({ ...BASE, RTC_MIN_PORT: "45000", RTC_MAX_PORT: "45000" });
    expect([c.RTC_MIN_PORT, c.RTC_MAX_PORT]).toEqual([45000, 45000]);
  });

  it("ignores unrelated environment variables", () => {
    const c = loadConfig({ ...BASE, PATH: "/usr/bin", HOME: "/root" }) as Record<string, unknown>;
    expect(c.PATH).toBeUndefined();
  });

  it.each([
    ["missing WORKER_URL", { NODE_ID: "vm1", NODE_KEY: KEY }, "WORKER_URL"],
    ["non-URL WORKER_URL", { ...BASE, WORKER_URL: "not a url" }, "WORKER_URL"],
    ["ws: WORKER_URL", { ...BASE, WORKER_URL: "ws://127.0.0.1:8787" }, "WORKER_URL"],
    ["missing NODE_KEY", { WORKER_URL: BASE.WORKER_URL, NODE_ID: "vm1" }, "NODE_KEY"],
    ["a NODE_KEY that is not 64 hex characters", { ...BASE, NODE_KEY: "0123456789abcdef" }, "NODE_KEY"],
    ["the fleet secret as NODE_KEY", { ...BASE, NODE_KEY: "test-fleet-secret-of-some-length" }, "NODE_KEY"],
    ["fewer NODE_KEYs than WORKERS", { ...BASE, WORKERS: "3", NODE_KEY: keys(2).join(",") }, "NODE_KEY"],
    ["several NODE_KEYs for one process", { ...BASE, NODE_KEY: keys(2).join(",") }, "NODE_KEY"],
    ["missing NODE_ID (the key is bound to it)", { WORKER_URL: BASE.WORKER_URL, NODE_KEY: KEY }, "NODE_ID"],
    ["RTC_MIN_PORT > RTC_MAX_PORT", { ...BASE, RTC_MIN_PORT: "45001", RTC_MAX_PORT: "45000" }, "RTC_MIN_PORT"],
    ["HEALTH_PORT out of range", { ...BASE, HEALTH_PORT: "70000" }, "HEALTH_PORT"],
    ["HEALTH_PORT negative", { ...BASE, HEALTH_PORT: "-1" }, "HEALTH_PORT"],
    ["HEALTH_PORT not a number", { ...BASE, HEALTH_PORT: "http" }, "HEALTH_PORT"],
    ["HEALTH_PORT fractional", { ...BASE, HEALTH_PORT: "9100.5" }, "HEALTH_PORT"],
    ["HEALTH_PORT leaving no room for the workers' ports", { ...BASE, HEALTH_PORT: "65534", WORKERS: "4", NODE_KEY: keys(4).join(",") }, "HEALTH_PORT"],
    ["DRAIN_TIMEOUT_MS negative", { ...BASE, DRAIN_TIMEOUT_MS: "-5" }, "DRAIN_TIMEOUT_MS"],
    ["bad REGION", { ...BASE, REGION: "eu west" }, "REGION"],
    ["RTC_MAX_PORT out of range", { ...BASE, RTC_MAX_PORT: "65536" }, "RTC_MAX_PORT"],
    ["bad NODE_ID", { ...BASE, NODE_ID: "has space" }, "NODE_ID"],
    ["bad ANNOUNCED_IP", { ...BASE, ANNOUNCED_IP: "example.com" }, "ANNOUNCED_IP"],
    ["bad LOG_LEVEL", { ...BASE, LOG_LEVEL: "verbose" }, "LOG_LEVEL"],
    ["bad DEBUG_IMPAIRMENT", { ...BASE, DEBUG_IMPAIRMENT: "yes" }, "DEBUG_IMPAIRMENT"],
    ["HEARTBEAT_MS too small", { ...BASE, HEARTBEAT_MS: "100" }, "HEARTBEAT_MS"],
    ["CAPACITY zero", { ...BASE, CAPACITY: "0" }, "CAPACITY"],
  ])("throws on %s, naming %s", (_name, env, variable) => {
    expect(() => loadConfig(env)).toThrow(Error);
    expect(() => loadConfig(env)).toThrow(new RegExp(`\\b${variable}\\b`));
  });

  it("names every invalid variable in one message", () => {
    let message = "";
    try {
      loadConfig({ NODE_KEY: "short", HEALTH_PORT: "99999" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/invalid media-node configuration/);
    for (const v of ["WORKER_URL", "NODE_KEY", "HEALTH_PORT"]) expect(message).toContain(v);
  });
});

describe("workerEnv", () => {
  it("gives each worker its own node id and key, health port (the supervisor keeps HEALTH_PORT) and a disjoint RTC port slice", async () => {
    const { loadConfig, workerEnv } = await import("../../media-node/src/config.ts");
    const c = loadConfig({ WORKER_URL: "http://127.0.0.1:8787", NODE_KEY: keys(4).join(","), NODE_ID: "vm1", HEALTH_PORT: "9100", RTC_MIN_PORT: "40000", RTC_MAX_PORT: "40999", WORKERS: "4" });
    const envs = [0, 1, 2, 3].map((i) => workerEnv(c, i, 4));
    expect(envs.map((e) => e.NODE_ID)).toEqual(["vm1-0", "vm1-1", "vm1-2", "vm1-3"]);
    expect(envs.map((e) => e.NODE_KEY)).toEqual(keys(4));
    expect(envs.map((e) => e.HEALTH_PORT)).toEqual(["9101", "9102", "9103", "9104"]);
    const ranges = envs.map((e) => [Number(e.RTC_MIN_PORT), Number(e.RTC_MAX_PORT)] as const);
    expect(ranges).toEqual([[40000, 40249], [40250, 40499], [40500, 40749], [40750, 40999]]);
    expect(envs.every((e) => e.WORKERS === "1")).toBe(true);
  });

  it("leaves the workers' health endpoints off when HEALTH_PORT is unset", async () => {
    const { loadConfig, workerEnv } = await import("../../media-node/src/config.ts");
    const c = loadConfig({ ...BASE, NODE_KEY: keys(2).join(","), WORKERS: "2" });
    expect([workerEnv(c, 0, 2).HEALTH_PORT, workerEnv(c, 1, 2).HEALTH_PORT]).toEqual(["0", "0"]);
  });
});
