// A front-end written in Rust on sio-client's Rust API (client-wasm/example: wasm-bindgen and
// web-sys DOM, typed values with a binary field through serde-wasm-bindgen), built here with
// wasm-pack and opened in Chromium against the Rust and the Node contract servers: it
// connects, a note typed in its form comes back from the server (`emit-as`) with its bytes,
// and its ack (`echo`) arrives.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it, before, after } from "node:test";
import { TESTS_DIR, startServer } from "../lib/harness.mjs";
import { IMPLS, IS_REF, assertClean, launchBrowser, pageWithErrors, serveDir } from "../lib/browser.mjs";

const EXAMPLE = path.join(TESTS_DIR, "..", "client-wasm", "example");

describe("a Rust front-end on the Rust API (client-wasm/example)", { skip: IS_REF && "sio-client's Rust API" }, () => {
  let work, site, browser;
  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "sio-example-"));
    // A dev build: quick, and what the page gets is the same API.
    execFileSync(
      "wasm-pack",
      ["--quiet", "build", EXAMPLE, "--dev", "--target", "web", "--no-pack", "--no-typescript", "--out-dir", path.join(work, "pkg"), "--", "--locked"],
      { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, PATH: `${path.join(TESTS_DIR, "node_modules", ".bin")}:${process.env.PATH}` } },
    );
    await copyFile(path.join(EXAMPLE, "index.html"), path.join(work, "index.html"));
    site = await serveDir(work);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const impl of IMPLS) {
    it(`connects to the ${impl} server; a note comes back with its bytes, and its ack`, async () => {
      const srv = await startServer({ impl });
      try {
        const page = await pageWithErrors(browser);
        await page.goto(`${site.url}/index.html?server=${encodeURIComponent(srv.url)}`);
        await page.waitForFunction(() => document.getElementById("status")?.textContent === "connected", null, { timeout: 10_000 });
        await page.fill("#text", "héllo");
        await page.press("#text", "Enter");
        await page.waitForFunction(() => document.querySelectorAll("#log li").length >= 2, null, { timeout: 10_000 });
        const lines = await page.$$eval("#log li", (items) => items.map((li) => li.textContent));
        // "héllo" is 6 bytes of UTF-8: the binary field made the round trip.
        assert.deepEqual(lines, ["note: héllo (6 bytes)", "ack: héllo"]);
        assert.equal(await page.inputValue("#text"), "");
        assertClean(page);
        await page.close();
      } finally {
        await srv.stop();
      }
    });
  }
});
