import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../media-node/src/config.ts";

const BASE = { WORKER_URL: "http://127.0.0.1:8787", FLEET_SECRET: "0123456789abcdef" };

describe("loadConfig", () => {
  it("applies defaults and derives PUBLIC_URL", () => {
    const c = loadConfig({ ...BASE });
    expect(c).toMatchObject({
      WORKER_URL: "http://127.0.0.1:8787",
      FLEET_SECRET: "0123456789abcdef",
      REGION: "local",
      CAPACITY: 500,
      CONTROL_HOST: "127.0.0.1",
      CONTROL_PORT: 7100,
      PUBLIC_URL: "http://127.0.0.1:7100",
      ANNOUNCED_IP: "127.0.0.1",
      RTC_BIND_IP: "127.0.0.1",
      RTC_MIN_PORT: 40000,
      RTC_MAX_PORT: 49999,
      HEARTBEAT_MS: 2000,
      LOG_LEVEL: "info",
      DEBUG_IMPAIRMENT: "0", // impairment calls are refused unless asked for
    });
    expect(c.NODE_ID).toBe(`${hostname().slice(0, 40)}-${process.pid}`);
    expect(c.NODE_ID).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
  });

  it("coerces numeric strings and derives PUBLIC_URL from CONTROL_HOST and CONTROL_PORT", () => {
    const c = loadConfig({ ...BASE, CONTROL_HOST: "10.0.0.5", CONTROL_PORT: "7200", CAPACITY: "42", RTC_MIN_PORT: "50000", RTC_MAX_PORT: "50100" });
    expect(c.CONTROL_PORT).toBe(7200);
    expect(c.CAPACITY).toBe(42);
    expect(c.RTC_MIN_PORT).toBe(50000);
    expect(c.RTC_MAX_PORT).toBe(50100);
    expect(c.PUBLIC_URL).toBe("http://10.0.0.5:7200");
  });

  it("keeps an explicit PUBLIC_URL", () => {
    expect(loadConfig({ ...BASE, PUBLIC_URL: "https://node-1.example.com" }).PUBLIC_URL).toBe("https://node-1.example.com");
  });

  it("requires PUBLIC_URL when CONTROL_HOST is 0.0.0.0", () => {
    expect(() => loadConfig({ ...BASE, CONTROL_HOST: "0.0.0.0" })).toThrow(/PUBLIC_URL/);
    const c = loadConfig({ ...BASE, CONTROL_HOST: "0.0.0.0", PUBLIC_URL: "http://10.1.2.3:7100" });
    expect(c.PUBLIC_URL).toBe("http://10.1.2.3:7100");
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
    ["missing WORKER_URL", { FLEET_SECRET: BASE.FLEET_SECRET }, "WORKER_URL"],
    ["non-URL WORKER_URL", { ...BASE, WORKER_URL: "not a url" }, "WORKER_URL"],
    ["ws: WORKER_URL", { ...BASE, WORKER_URL: "ws://127.0.0.1:8787" }, "WORKER_URL"],
    ["missing FLEET_SECRET", { WORKER_URL: BASE.WORKER_URL }, "FLEET_SECRET"],
    ["short FLEET_SECRET", { ...BASE, FLEET_SECRET: "short" }, "FLEET_SECRET"],
    ["15-character FLEET_SECRET", { ...BASE, FLEET_SECRET: "x".repeat(15) }, "FLEET_SECRET"],
    ["RTC_MIN_PORT > RTC_MAX_PORT", { ...BASE, RTC_MIN_PORT: "45001", RTC_MAX_PORT: "45000" }, "RTC_MIN_PORT"],
    ["CONTROL_PORT out of range", { ...BASE, CONTROL_PORT: "70000" }, "CONTROL_PORT"],
    ["CONTROL_PORT zero", { ...BASE, CONTROL_PORT: "0" }, "CONTROL_PORT"],
    ["CONTROL_PORT not a number", { ...BASE, CONTROL_PORT: "http" }, "CONTROL_PORT"],
    ["CONTROL_PORT fractional", { ...BASE, CONTROL_PORT: "7100.5" }, "CONTROL_PORT"],
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
      loadConfig({ FLEET_SECRET: "short", CONTROL_PORT: "99999" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/invalid media-node configuration/);
    for (const v of ["WORKER_URL", "FLEET_SECRET", "CONTROL_PORT"]) expect(message).toContain(v);
  });
});

describe("workerEnv", () => {
  it("gives each worker its own node id, control port, public URL and a disjoint RTC port slice", async () => {
    const { loadConfig, workerEnv } = await import("../../media-node/src/config.ts");
    const c = loadConfig({ WORKER_URL: "http://127.0.0.1:8787", FLEET_SECRET: "0123456789abcdef", NODE_ID: "vm1", CONTROL_PORT: "7100", PUBLIC_URL: "http://10.0.0.5:7100", RTC_MIN_PORT: "40000", RTC_MAX_PORT: "40999", WORKERS: "4" });
    const envs = [0, 1, 2, 3].map((i) => workerEnv(c, i, 4));
    expect(envs.map((e) => e.NODE_ID)).toEqual(["vm1-0", "vm1-1", "vm1-2", "vm1-3"]);
    expect(envs.map((e) => e.CONTROL_PORT)).toEqual(["7100", "7101", "7102", "7103"]);
    expect(envs[2]!.PUBLIC_URL).toBe("http://10.0.0.5:7102");
    const ranges = envs.map((e) => [Number(e.RTC_MIN_PORT), Number(e.RTC_MAX_PORT)] as const);
    expect(ranges).toEqual([[40000, 40249], [40250, 40499], [40500, 40749], [40750, 40999]]);
    expect(envs.every((e) => e.WORKERS === "1")).toBe(true);
  });
});
