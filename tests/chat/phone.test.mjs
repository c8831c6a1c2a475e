// The chat on a phone (390×844, touch): one column, a one-line top bar, the channels and the
// members in drawers, touch-sized targets; switching channels and starting a direct message
// from the members drawer. Screenshots at 390×844 and 1280×800.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertClean } from "../lib/browser.mjs";
import { exact, sayAndConfirm, screenshot, seeMessage, seeMembers, useChat } from "../lib/chat.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

/** The box of `locator` in the viewport. */
const box = async (locator) => locator.boundingBox();

describe("demo chat: on a phone", () => {
  const chat = useChat();

  for (const client of ["wasm", "js"]) {
    test(`channels and a direct message from a 390 px screen (${client})`, async () => {
      const phone = await chat.open(`pat-${client}`, { client, device: PHONE });
      const desk = await chat.open("dana", { device: DESKTOP });
      await seeMembers(desk, "Online in #general — 2");

      // Nothing wider than the screen; the top bar one line high.
      assert.ok((await phone.evaluate(() => document.documentElement.scrollWidth)) <= 390);
      assert.ok((await box(phone.locator("header.top"))).height <= 56);
      // The conversation has the width; the drawers are closed (off screen).
      assert.ok((await box(phone.locator("main.room"))).width >= 380);
      assert.ok((await box(phone.locator("nav.side"))).x + (await box(phone.locator("nav.side"))).width <= 0);
      await sayAndConfirm(phone, "hello from a phone");
      await seeMessage(desk, "hello from a phone");

      // Channels: open the drawer, join #random, and the drawer closes on the conversation.
      await phone.getByRole("button", { name: "Channels" }).click();
      const side = phone.locator("nav.side");
      await phone.waitForFunction(() => document.querySelector("nav.side").getBoundingClientRect().x >= 0);
      if (client === "wasm") await screenshot(phone, "phone-channels");
      await side.locator(".channel .open", { hasText: "#random" }).click();
      await phone.locator(".conv-title", { hasText: exact("#random") }).waitFor();
      await phone.waitForFunction(() => document.querySelector("nav.side").getBoundingClientRect().right <= 0);
      // Back to #general the same way.
      await phone.getByRole("button", { name: "Channels" }).click();
      await side.locator(".channel .open", { hasText: "#general" }).click();
      await phone.locator(".conv-title", { hasText: exact("#general") }).waitFor();

      // People: the members drawer, then a direct message to dana.
      await phone.getByRole("button", { name: "People" }).click();
      const dm = phone.getByRole("button", { name: "Message dana" });
      await dm.waitFor();
      for (const target of [dm, phone.getByRole("button", { name: "People" }), phone.getByRole("button", { name: "Send" })]) {
        assert.ok((await box(target)).height >= 40, `touch-sized: ${await target.textContent()}`);
      }
      await dm.click();
      await phone.locator(".conv-title", { hasText: exact("@dana") }).waitFor();
      await sayAndConfirm(phone, "just for you");
      await desk.locator(".dm-list .channel", { hasText: `@pat-${client}` }).locator(".open").click();
      await seeMessage(desk, "just for you");
      if (client === "wasm") {
        await screenshot(phone, "phone-dm");
        await screenshot(desk, "desktop-1280x800");
      }
      for (const p of [phone, desk]) assertClean(p);
    });
  }
});
