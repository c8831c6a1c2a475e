// Browser test harness: a static server for the wasm client and the test page, and headless
// Chromium (Debian's, driven by playwright-core) with that page open.
//
// The page (web/index.html) imports the bundle from /pkg/ (client-wasm/pkg, or SIO_CLIENT_PKG)
// and exposes it as `window.sio`, with helpers from web/helpers.js as `window.t`. Tests run
// their steps in the page with `page.evaluate`, against servers started by lib/harness.mjs.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { before, after } from "node:test";
import { chromium } from "playwright-core";
import { TESTS_DIR } from "./harness.mjs";

export const PKG_DIR = process.env.SIO_CLIENT_PKG || path.join(TESTS_DIR, "..", "client-wasm", "pkg");
const ROOTS = {
  "/pkg/": PKG_DIR,
  "/sioc/": path.join(TESTS_DIR, "node_modules", "socket.io-client", "dist"),
  "/": path.join(TESTS_DIR, "web"),
};
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** Serves the page, the bundle and socket.io-client's dist on 127.0.0.1 (free port). */
export async function startStatic() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const prefix = Object.keys(ROOTS).find((p) => url.pathname.startsWith(p));
    const rel = url.pathname.slice(prefix.length) || "index.html";
    const file = path.join(ROOTS[prefix], path.normalize(rel).replace(/^(\.\.[/\\])+/, ""));
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
}

/**
 * Hooks for one file: a static server and a browser, shared by its tests. `ctx.page()` opens
 * a fresh page with the client loaded; pages are closed after the file. Errors the page
 * throws or logs are collected in `page.errors` (a wasm trap shows up there).
 */
export function useBrowser() {
  const ctx = { pages: [] };
  before(async () => {
    ctx.static = await startStatic();
    ctx.browser = await launchBrowser();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.static?.close();
  });
  ctx.page = async () => {
    const page = await ctx.browser.newPage();
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && page.errors.push(m.text()));
    page.on("response", (r) => r.status() >= 400 && page.errors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`));
    await page.goto(`${ctx.static.url}/index.html`);
    await page.waitForFunction(() => window.ready === true || window.loadError);
    const err = await page.evaluate(() => window.loadError);
    if (err) throw new Error(`the client did not load: ${err}`);
    return page;
  };
  return ctx;
}
