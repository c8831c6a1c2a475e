// Browser test harness: a static server for the wasm client and the test page, and headless
// Chromium (Debian's, driven by playwright-core) with that page open.
//
// The page (web/index.html) imports the bundle from /pkg/ (client-wasm/pkg, or SIO_CLIENT_PKG)
// and exposes it as `window.sio`, with helpers from web/helpers.js as `window.t`. Tests run
// their steps in the page with `page.evaluate`, against servers started by lib/harness.mjs.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import assert from "node:assert/strict";
import { before, after, afterEach } from "node:test";
import { attach } from "engine.io";
import { chromium } from "playwright-core";
import { TESTS_DIR, startServer } from "./harness.mjs";

export const PKG_DIR = process.env.SIO_CLIENT_PKG || path.join(TESTS_DIR, "..", "client-wasm", "pkg");
const ROOTS = {
  "/pkg/": PKG_DIR,
  "/sioc/": path.join(TESTS_DIR, "node_modules", "socket.io-client", "dist"),
  "/": path.join(TESTS_DIR, "web"),
};
const TYPES = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".html": "text/html",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
/** Server implementations every browser group runs against (SIO_BROWSER_SERVERS=rust,node). */
export const IMPLS = (process.env.SIO_BROWSER_SERVERS || "rust,node").split(",").filter(Boolean);
/**
 * The client under test: "sio" (the wasm client, default) or "ref" (the official
 * socket.io-client 4.8 dist, to check that an expectation is what socket.io-client does):
 * SIO_BROWSER_CLIENT=ref. `manager.transport` (a sio extension) is shimmed for "ref".
 */
export const CLIENT = process.env.SIO_BROWSER_CLIENT === "ref" ? "ref" : "sio";
export const IS_REF = CLIENT === "ref";

/** Serves the page, the bundle and socket.io-client's dist on 127.0.0.1 (free port), and
 *  the directories of `roots` (`{ "/prefix/": dir }`). */
export async function startStatic(roots = {}) {
  const all = { ...roots, ...ROOTS };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const prefix = Object.keys(all).find((p) => url.pathname.startsWith(p));
    const rel = url.pathname.slice(prefix.length) || "index.html";
    const file = path.join(all[prefix], path.normalize(rel).replace(/^(\.\.[/\\])+/, ""));
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

/** Serves the files of `dir` on 127.0.0.1 (free port): a page built outside the tests. */
export async function serveDir(dir) {
  const server = createServer(async (req, res) => {
    const file = path.join(dir, path.normalize(new URL(req.url, "http://x").pathname).replace(/^(\.\.[/\\])+/, ""));
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** A page of `browser` whose errors (uncaught, console.error) are kept in `page.errors`. */
export async function pageWithErrors(browser) {
  const page = await browser.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && page.errors.push(m.text()));
  return page;
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
 * a fresh page with the client loaded; pages are closed after each test (so that no client
 * keeps reconnecting into the next one). Errors the page throws or logs are collected in
 * `page.errors` (a wasm trap shows up there). `roots` are served too (see `startStatic`);
 * `pkg` is where the page imports the client from (default `/pkg/`, client-wasm/pkg).
 */
export function useBrowser({ roots, pkg } = {}) {
  const ctx = { pages: [] };
  before(async () => {
    ctx.static = await startStatic(typeof roots == "function" ? await roots() : roots);
    ctx.browser = await launchBrowser();
  });
  afterEach(async () => {
    const pages = ctx.pages.splice(0);
    await Promise.all(pages.map((p) => p.close().catch(() => {})));
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.static?.close();
  });
  ctx.page = async () => {
    const page = await pageWithErrors(ctx.browser);
    ctx.pages.push(page);
    page.on("response", (r) => r.status() >= 400 && page.errors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`));
    await page.goto(`${ctx.static.url}/index.html${pkg ? `?pkg=${encodeURIComponent(pkg)}` : ""}`);
    await page.waitForFunction(() => window.ready === true || window.loadError);
    const err = await page.evaluate(() => window.loadError);
    if (err) throw new Error(`the client did not load: ${err}`);
    if (IS_REF) {
      await page.evaluate(async () => {
        const m = await import("/sioc/socket.io.esm.min.js");
        Object.defineProperty(m.Manager.prototype, "transport", {
          get() {
            return this.engine?.transport?.name;
          },
        });
        window.sio = { ...m, ref: true };
      });
    }
    return page;
  };
  return ctx;
}

/**
 * Asserts the page logged no error at all, but for a 400 on a long-poll GET of a session the
 * client has closed (a GET pending while the client closes may be answered 400 by the Rust
 * server, also with socket.io-client): use for tests where nothing should go wrong.
 */
export function assertClean(page) {
  const closingPoll = (e, k, all) =>
    /^HTTP 400 GET .*[?&]sid=/.test(e) ||
    (/status of 400/.test(e) && all.slice(0, k).some((x) => /^HTTP 400 GET .*[?&]sid=/.test(x)));
  const bad = page.errors.filter((e, k, all) => !closingPoll(e, k, all));
  assert.deepEqual(bad, [], `page errors: ${JSON.stringify(page.errors)}`);
}

/** Asserts the page hit no wasm trap / Rust panic / uncaught exception. */
export function assertNoTrap(page) {
  const bad = page.errors.filter((e) => /unreachable|RuntimeError|panicked|Uncaught|TypeError|ReferenceError/.test(e));
  assert.deepEqual(bad, [], `page errors: ${JSON.stringify(page.errors)}`);
}

/**
 * Hooks for a fake server in the current describe: npm engine.io on 127.0.0.1 (free port)
 * whose connections get `onMessage(conn, message, bad)` for each message, `bad` being the
 * handshake's `bad` query parameter (what the test wants sent). Returns `{ url }`, filled in
 * before the first test.
 */
export function useFakeEngine(onMessage) {
  const srv = {};
  before(async () => {
    const http = createServer();
    const eio = attach(http, { path: "/socket.io/", cors: { origin: "*" }, pingInterval: 25_000 });
    eio.on("connection", (conn) => {
      const bad = new URL(conn.request.url, "http://x").searchParams.get("bad");
      conn.on("message", (m) => onMessage(conn, m, bad));
    });
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    Object.assign(srv, { http, eio, url: `http://127.0.0.1:${http.address().port}` });
  });
  after(async () => {
    srv.eio?.close();
    if (srv.http) await new Promise((r) => srv.http.close(r));
  });
  return srv;
}

/**
 * Hooks for one server (impl "rust" or "node", kind "contract" or "features") in the current
 * describe: started before its tests, stopped after them; its output since the previous test
 * is printed after a failed test. Returns an object filled in before the first test.
 */
export function useServerFor(impl, { kind = "contract", env = {} } = {}) {
  const srv = {};
  before(async () => {
    Object.assign(srv, await startServer({ impl, kind, env }));
  });
  afterEach((t) => {
    const out = srv.newLogs?.();
    if (!t.passed && srv.newLogs) console.error(`--- ${impl} ${kind} server output ---\n${out || "(none)\n"}--- end ---`);
  });
  after(async () => {
    await srv.stop?.();
  });
  return srv;
}
