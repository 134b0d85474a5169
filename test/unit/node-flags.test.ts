import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MEDIA_NODE_FLAGS, ROOT } from "../../scripts/system.ts";

describe("the media node's Node flags", () => {
  it("are the same for local runs and tests, the container and systemd", () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, "media-node/Dockerfile"), "utf8"))?.[1];
    expect(JSON.parse(entrypoint!)).toEqual(["node", ...MEDIA_NODE_FLAGS, "media-node.mjs"]);
    const execStart = /^ExecStart=(.*)$/m.exec(readFileSync(join(ROOT, "deploy/edge-sfu-media-node.service"), "utf8"))?.[1];
    expect(execStart!.split(" ")).toEqual(["/usr/bin/node", ...MEDIA_NODE_FLAGS, "media-node/dist/media-node.mjs"]);
  });
});
