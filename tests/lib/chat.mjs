// Helpers for the demo chat's tests (chat/*.test.mjs): the chat server (the `chat` example,
// SIO_CHAT_BIN), Chromium pages on it, and what a person sees on them.
//
// The server serves the page from ../www, the wasm client from SIO_CLIENT_PKG (default
// ../client-wasm/pkg) and socket.io-client's dist from node_modules, as the demo does.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, after, afterEach } from "node:test";
import { io } from "socket.io-client";
import { TESTS_DIR, startServer } from "./harness.mjs";
import { PKG_DIR, launchBrowser } from "./browser.mjs";
import { startRedis } from "./redis.mjs";

export const ARTIFACTS = path.join(TESTS_DIR, "artifacts");
const WAIT_MS = 10_000;

/**
 * The chat server's environment: the files the tests use, a quick heartbeat, plus `extra`
 * (limits). The heartbeat bounds how long the session of a closed page can linger (one whose
 * long-poll was cut, say) and so keep counting as a member in the next test.
 */
function chatEnv(extra) {
  return {
    SIO_CLIENT_PKG: path.resolve(TESTS_DIR, PKG_DIR),
    SIO_JS_CLIENT_DIR: path.join(TESTS_DIR, "node_modules", "socket.io-client", "dist"),
    SIO_CHAT_WWW: path.join(TESTS_DIR, "..", "www"),
    PING_INTERVAL_MS: "2000",
    PING_TIMEOUT_MS: "3000",
    ...extra,
  };
}

/**
 * Hooks for one file: a chat server (with `env`, and a data directory of its own, removed
 * afterwards) and a browser, shared by its tests; pages opened with `ctx.open()` are closed
 * after each test. The server's output is printed after a failed test. `ctx.stop()` /
 * `ctx.restart()` stop it and start it again on the same port and data directory.
 *
 * With `nodes: n` (> 1), n chat servers share a redis-server of their own (`REDIS_URL`, the
 * Streams adapter) and the data directory, as `scripts/demo.sh cluster` runs them:
 * `ctx.urls[i]`, `ctx.srvs[i]`, `ctx.open(name, { node: i })`, `ctx.restart(i)`.
 */
export function useChat(env = {}, { nodes = 1 } = {}) {
  const ctx = { pages: [], srvs: [] };
  const start = (i, port) => startServer({ kind: "chat", impl: "rust", env: ctx.env, port });
  before(async () => {
    const wasm = path.join(path.resolve(TESTS_DIR, PKG_DIR), "sio_client_bg.wasm");
    if (!existsSync(wasm)) throw new Error(`no wasm client at ${wasm}: run scripts/build-client.sh or set SIO_CLIENT_PKG`);
    ctx.dataDir = await mkdtemp(path.join(tmpdir(), "sio-chat-data-"));
    const cluster = {};
    if (nodes > 1) {
      ctx.redis = await startRedis();
      Object.assign(cluster, { REDIS_URL: ctx.redis.url, REDIS_STREAMS: "1" });
    }
    ctx.env = chatEnv({ DATA_DIR: ctx.dataDir, ...cluster, ...env });
    for (let i = 0; i < nodes; i++) ctx.srvs.push(await start(i));
    ctx.urls = ctx.srvs.map((s) => s.url);
    [ctx.srv] = ctx.srvs;
    ctx.url = ctx.srv.url;
    ctx.browser = await launchBrowser();
    await mkdir(ARTIFACTS, { recursive: true });
  });
  afterEach(async (t) => {
    const pages = ctx.pages.splice(0);
    await Promise.all(pages.map((p) => p.context().close().catch(() => {})));
    // The next test counts members: wait until every node has seen these pages go.
    if (t.passed) for (const s of ctx.srvs) if (s.alive()) await channelsEmpty(s.url);
    if (!t.passed) {
      ctx.srvs.forEach((s, i) => {
        const out = s.newLogs?.();
        console.error(`--- chat server ${i} output ---\n${out || "(none)\n"}--- end ---`);
      });
      for (const p of pages) if (p.errors.length) console.error(`page ${p.who}: ${JSON.stringify(p.errors)}`);
    } else {
      for (const s of ctx.srvs) s.newLogs?.();
    }
  });
  after(async () => {
    await ctx.browser?.close();
    for (const s of ctx.srvs) await s.stop();
    await ctx.redis?.stop();
    if (ctx.dataDir) await rm(ctx.dataDir, { recursive: true, force: true });
  });
  ctx.stop = (i = 0) => ctx.srvs[i].stop();
  ctx.restart = async (i = 0) => {
    ctx.srvs[i] = await start(i, ctx.srvs[i].port);
    [ctx.srv] = ctx.srvs;
  };
  /** A new page (its own browser context: own localStorage) on node `node`, logged in as
   *  `name` unless null; `setup(page)` runs before it loads (routes, say); `device` are
   *  Playwright context options (a phone's viewport, touch); `person`: a page whose browser
   *  this one is too, on any node (its nickname and key, which each node's origin keeps in
   *  its own localStorage, are copied: behind one load balancer they would be shared). */
  ctx.open = async (name, { client = "wasm", setup, device, node = 0, person } = {}) => {
    // A context of its own, which more tabs of the same browser can share (`page.context()`).
    const page = await (await ctx.browser.newContext(device)).newPage();
    if (person) {
      const saved = await person.evaluate(() => Object.entries(localStorage));
      await page.addInitScript((entries) => {
        for (const [k, v] of entries) if (localStorage.getItem(k) === null) localStorage.setItem(k, v);
      }, saved);
    }
    await setup?.(page);
    ctx.pages.push(page);
    page.who = `${name ?? "?"} (${client})`;
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && page.errors.push(m.text()));
    page.on("response", (r) => r.status() >= 400 && page.errors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`));
    await page.goto(`${ctx.urls[node]}${client === "js" ? "/js-client.html" : "/"}`);
    if (name !== null) await login(page, name);
    return page;
  };
  return ctx;
}

const robots = [];
after(() => robots.splice(0).forEach((s) => s.disconnect()));

/** A socket.io-client socket on the chat at `url` as `name` (with the browser key `key`, if
 *  given), once it has its session; disconnected after the file's tests at the latest. */
export function robot(url, name, key) {
  const s = io(url, { auth: { name, key }, transports: ["websocket"], forceNew: true, reconnection: false });
  robots.push(s);
  return new Promise((resolve, reject) => {
    s.once("session", () => resolve(s));
    s.once("connect_error", reject);
  });
}

/**
 * Resolves once every channel of the chat at `url` is empty, as a client in no channel sees
 * it (the counts of its `session`, then every `counts` update).
 */
export function channelsEmpty(url, timeout = 15_000) {
  // (A key of its own: the previous probe may still hold the name while it leaves.)
  const probe = io(url, { auth: { name: "probe", key: "probe-key-0000", rooms: [] }, transports: ["websocket"], forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    const done = (err) => {
      clearTimeout(timer);
      probe.disconnect();
      err ? reject(err) : resolve();
    };
    const timer = setTimeout(() => done(new Error(`channels still not empty after ${timeout} ms: ${JSON.stringify(last)}`)), timeout);
    let last = null;
    const check = (counts) => {
      last = counts;
      if (Object.values(counts).every((n) => n === 0)) done();
    };
    probe.on("session", (s) => check(s.counts));
    probe.on("counts", check);
    probe.on("connect_error", (e) => done(e));
  });
}

/** Types `name` in the nickname dialog and waits until the page shows it signed in. */
export async function login(page, name) {
  await submitName(page, name);
  // (Attached: a phone's top bar shows only the avatar.)
  await page.locator(".me-name", { hasText: exact(name) }).waitFor({ state: "attached", timeout: WAIT_MS });
  await status(page, /^connected/);
}

/** Types `name` in the nickname dialog and submits it. */
export async function submitName(page, name) {
  await page.getByLabel("Nickname").fill(name);
  await page.getByRole("button", { name: "Join the chat" }).click();
}

/** A regular expression matching exactly `text`. */
export function exact(text) {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

/** Waits until the connection status reads `re`; returns the text. */
export async function status(page, re, timeout = WAIT_MS) {
  const el = page.locator(".conn", { hasText: re });
  await el.waitFor({ timeout });
  return el.innerText();
}

/** Types `text` in the composer and presses Enter. */
export async function say(page, text) {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByLabel("Message", { exact: true }).press("Enter");
}

/** The visible conversation's message with exactly `text`. */
export function message(page, text) {
  return page.locator("ol.messages:not([hidden]) li.msg").filter({ has: page.locator(".text", { hasText: exact(text) }) });
}

/** Waits for the message `text` in the visible conversation. */
export async function seeMessage(page, text, timeout = WAIT_MS) {
  await message(page, text).first().waitFor({ timeout });
}

/** Says `text` and waits for the server's ack to mark it sent. */
export async function sayAndConfirm(page, text) {
  await say(page, text);
  await message(page, text).locator(".status", { hasText: "sent" }).waitFor({ timeout: WAIT_MS });
}

/**
 * Every message of the visible conversation as the reader sees it: author (also of grouped
 * messages, whose header is hidden), text, time and the own-message status.
 */
export function messages(page) {
  return page.$$eval("ol.messages:not([hidden]) li.msg", (items) => {
    let author = null;
    return items.map((li) => {
      author = li.querySelector(".author")?.textContent ?? author;
      return {
        author,
        text: li.querySelector(".text").textContent,
        time: li.querySelector("time").textContent,
        status: li.querySelector(".status")?.textContent ?? null,
      };
    });
  });
}

/** Waits for a notice ("bob joined #random") in the visible conversation. */
export async function seeNotice(page, text, timeout = WAIT_MS) {
  await page.locator("ol.messages:not([hidden]) li.notice", { hasText: text }).first().waitFor({ timeout });
}

/** Clicks a channel in the sidebar (joining it if needed) and waits for its title. */
export async function openChannel(page, room) {
  await page.locator(".channel-list .open", { hasText: room }).click();
  await page.locator(".conv-title", { hasText: exact(room) }).waitFor({ timeout: WAIT_MS });
}

/** Waits until the members panel reads `title` (e.g. "Online in #general — 3"). */
export async function seeMembers(page, title, timeout = WAIT_MS) {
  await page.locator(".people h2", { hasText: exact(title) }).waitFor({ timeout });
}

/** Saves a screenshot of `page` under tests/artifacts/. */
export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `chat-${name}.png`) });
}

// Asserts a page logged no error (but for the 400 a long-poll GET may get when its session
// was closed under it).
export { assertClean } from "./browser.mjs";
