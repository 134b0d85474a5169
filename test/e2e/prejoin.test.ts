import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { openPage } from "../support/browser.ts";
import { useChromium, useSystem } from "../support/hooks.ts";
import { marks, remoteStats, selfId, until } from "../support/page-stats.ts";

const system = useSystem();
/**
 * Three fake cameras (and microphones and speakers) to pick from. Chromium's fake_device_1 plays in
 * a <video> but its frames never reach the encoder (framesEncoded stays 0), so the test uses 0 and 2.
 */
const browser = useChromium(["--use-fake-device-for-media-stream=device-count=3"]);

const options = (page: Page, select: string) => page.locator(`${select} option`).evaluateAll((os) => os.map((o) => ({ id: (o as HTMLOptionElement).value, label: o.textContent ?? "" })));
/** The device of the camera track our own tile shows (the one being sent), and that track's id. */
const localCamera = (page: Page) =>
  page.evaluate(() => {
    const track = (document.querySelector(".tile.local video") as HTMLVideoElement | null)?.srcObject instanceof MediaStream
      ? ((document.querySelector(".tile.local video") as HTMLVideoElement).srcObject as MediaStream).getVideoTracks()[0]
      : undefined;
    return { deviceId: track?.getSettings().deviceId, id: track?.id, live: track?.readyState === "live" };
  });

describe("the pre-join screen and devices in the call", () => {
  it("previews the picked camera and meters the mic; joining with the camera off and turning it on; switching and losing a camera in the call without renegotiating", async () => {
    const room = `prejoin-${Date.now()}`;
    const alice = await (await browser.newContext()).newPage();
    alice.on("pageerror", (err) => console.error("[Alice] page error", err));
    await alice.goto(`${system.url}/${room}`);

    // The preview plays, the meter moves, the pickers list both cameras and mics.
    await expect.poll(() => alice.locator("#preview").evaluate((v) => (v as HTMLVideoElement).videoWidth)).toBeGreaterThan(0);
    await expect.poll(() => alice.locator("#mic-level").evaluate((m) => (m as HTMLMeterElement).value)).toBeGreaterThan(0.01);
    const cameras = await options(alice, "#camera-select");
    expect(cameras.map((c) => c.label)).toEqual(["fake_device_0", "fake_device_1", "fake_device_2"]);
    expect((await options(alice, "#mic-select")).length).toBeGreaterThanOrEqual(3);
    const camera = (label: string) => cameras.find((c) => c.label === label)!.id;

    // Pick another camera: the preview switches to it.
    const previewCamera = () => alice.locator("#preview").evaluate((v) => ((v as HTMLVideoElement).srcObject as MediaStream | null)?.getVideoTracks()[0]?.getSettings().deviceId);
    expect(await previewCamera()).toBe(camera("fake_device_0"));
    const second = camera("fake_device_2");
    await alice.locator("#camera-select").selectOption(second);
    await expect.poll(previewCamera).toBe(second);

    // Join with the camera off.
    await alice.locator("#join-camera").uncheck();
    await alice.locator('#lobby input[name="name"]').fill("Alice");
    await alice.getByRole("button", { name: "Join" }).click();
    await expect.poll(() => alice.getByRole("button", { name: "Start camera" }).isVisible()).toBe(true);

    const bob = await openPage(browser, system.url, room, "Bob");
    const aliceId = (await selfId(alice))!;
    await until("Bob hears Alice", () => remoteStats(bob), (s) => (s[aliceId]?.audio?.totalSamplesReceived ?? 0) > 0, { page: bob });
    await expect.poll(() => bob.locator(".tile .flags").allTextContents()).toContain("camera off");
    expect((await remoteStats(bob))[aliceId]?.video?.framesDecoded ?? 0).toBe(0);

    // Camera on: Bob decodes the camera she picked before joining.
    await alice.getByRole("button", { name: "Start camera" }).click();
    await until("Bob decodes Alice", () => remoteStats(bob), (s) => (s[aliceId]?.video?.framesDecoded ?? 0) > 5, { page: bob });
    expect((await localCamera(alice)).deviceId).toBe(second);
    const offers = await marks(alice, "publish answer");

    // In the call: the other camera, through the devices panel. The track is replaced, not renegotiated.
    const decodedNow = async () => (await remoteStats(bob))[aliceId]?.video?.framesDecoded ?? 0;
    await alice.getByRole("button", { name: "Devices" }).click();
    const first = camera("fake_device_0");
    await alice.locator("#camera-select").selectOption(first);
    await expect.poll(async () => (await localCamera(alice)).deviceId).toBe(first);
    const afterSwitch = await decodedNow();
    await until("Bob decodes the switched camera", decodedNow, (n) => n > afterSwitch + 20, { page: bob });

    // The camera in use goes away (its track ends): the app carries on with another one.
    const before = await localCamera(alice);
    await alice.evaluate(() => ((document.querySelector(".tile.local video") as HTMLVideoElement).srcObject as MediaStream).getVideoTracks()[0]!.dispatchEvent(new Event("ended")));
    await expect.poll(async () => {
      const now = await localCamera(alice);
      return now.id !== before.id && now.live;
    }).toBe(true);
    const afterLoss = await decodedNow();
    await until("Bob decodes the fallback camera", decodedNow, (n) => n > afterLoss + 20, { page: bob });
    expect(await marks(alice, "publish answer")).toBe(offers);
  });
});
