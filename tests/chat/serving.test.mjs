// The chat server's HTTP side: the page, the wasm client's bundle and socket.io-client's, with
// the right types, compression and cache headers, next to the Socket.IO endpoint.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { io } from "socket.io-client";
import { useChat } from "../lib/chat.mjs";

describe("demo chat: what the server serves", () => {
  const chat = useChat();
  const get = (path, headers = {}) => fetch(`${chat.url}${path}`, { headers });

  test("the pages, with a content security policy", async () => {
    for (const path of ["/", "/index.html", "/js-client.html"]) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type"), /^text\/html/);
      assert.match(res.headers.get("content-security-policy"), /script-src 'self' 'wasm-unsafe-eval'/);
      assert.match(await res.text(), /<div id="app">/);
    }
    const css = await get("/chat.css");
    assert.match(css.headers.get("content-type"), /^text\/css/);
    assert.equal((await get("/nope.html")).status, 404);
  });

  test("the wasm client at /pkg/, compressed, typed and revalidated", async () => {
    const wasm = await get("/pkg/sio_client_bg.wasm", { "accept-encoding": "gzip" });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    assert.equal(wasm.headers.get("content-encoding"), "gzip");
    assert.equal(wasm.headers.get("cache-control"), "no-cache");
    assert.equal(wasm.headers.get("x-content-type-options"), "nosniff");
    const bytes = new Uint8Array(await wasm.arrayBuffer());
    assert.deepEqual([...bytes.slice(0, 4)], [0, 0x61, 0x73, 0x6d], "a wasm module, once decompressed");

    const js = await get("/pkg/sio_client.js", { "accept-encoding": "br" });
    assert.equal(js.headers.get("content-type"), "text/javascript");
    assert.equal(js.headers.get("content-encoding"), "br");
    const again = await get("/pkg/sio_client.js", { "if-modified-since": js.headers.get("last-modified") });
    assert.equal(again.status, 304);
  });

  test("socket.io-client for js-client.html, and the Socket.IO endpoint beside them", async () => {
    const sioc = await get("/vendor/socket.io-client/socket.io.esm.min.js");
    assert.equal(sioc.status, 200);
    assert.equal(sioc.headers.get("content-type"), "text/javascript");
    const open = await get("/socket.io/?EIO=4&transport=polling");
    assert.equal(open.status, 200);
    assert.match(await open.text(), /^0\{"sid":/);
  });

  test("/metrics: the server's counters for Prometheus, a connected client among them", async () => {
    // The sample of `name{labels}` in a scrape, or undefined.
    const sample = async (name) => {
      const res = await get("/metrics");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type"), /^application\/openmetrics-text/);
      const line = (await res.text()).split("\n").find((l) => l.startsWith(name + " "));
      return line && Number(line.slice(name.length + 1));
    };
    // Counters, not the sockets gauge: the previous test's probe may still be leaving.
    const connects = await sample("socketio_connects_total");
    const opened = await sample('socketio_engine_sessions_opened_total{transport="websocket"}');
    const s = io(chat.url, { auth: { name: "metrics-bot" }, transports: ["websocket"], forceNew: true, reconnection: false });
    try {
      await new Promise((resolve, reject) => (s.once("session", resolve), s.once("connect_error", reject)));
      assert.equal(await sample("socketio_connects_total"), connects + 1);
      assert.ok((await sample('socketio_sockets{namespace="/"}')) >= 1);
      assert.equal(await sample('socketio_engine_sessions_opened_total{transport="websocket"}'), opened + 1);
      assert.ok((await sample('socketio_engine_packets_total{direction="in"}')) >= 1);
    } finally {
      s.disconnect();
    }
  });
});
