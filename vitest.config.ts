import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // vitest 5 itself imports node:inspector inside the test worker; the worker under test does not.
              compatibilityFlags: ["nodejs_compat"],
              bindings: {
              FLEET_SECRET: "test-fleet-secret-not-for-production",
              ROOM_TOKEN_SECRET: "test-room-token-secret-not-for-production",
              ADMIN_TOKEN_SECRET: "test-admin-token-secret-not-for-production",
              NODE_STALE_MS: "15000",
              RESUME_GRACE_MS: "300",
              NODE_RECONNECT_GRACE_MS: "200",
              MAX_PARTICIPANTS_PER_ROOM: "8",
              TURN_URLS: "turn:turn.sfu.test:3478?transport=udp, turns:turn.sfu.test:443?transport=tcp",
              TURN_SECRET: "test-turn-secret-not-for-production",
              // The tests' candidates are on loopback and private addresses, as in local development.
              ALLOW_PRIVATE_CANDIDATES: "true",
            } },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"] },
      },
      {
        // Real processes (workerd, media nodes, Chromium) on loopback: one file at a time, because each
        // loads both cores (frame-gap and forwarding assertions need the CPU); ports are found free (test/support/ports.ts).
        test: {
          name: "system",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 90_000,
          // What a page shows after a round trip through the room can take more than expect.poll's
          // default second on a loaded machine; a poll that times out still fails the test.
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
