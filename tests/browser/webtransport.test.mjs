// WebTransport in headless Chromium: the official socket.io-client 4.8 against the sio
// contract server with WebTransport on (WT_PORT, on the UDP port of the HTTP port's number,
// as the client expects). The certificate is a 10-day ECDSA one made with openssl; the page
// trusts it through `serverCertificateHashes`, as a development setup does.
//
// No Node WebTransport server can be installed here (the one npm package,
// @fails-components/webtransport, downloads or builds its native part from outside the
// registry), so these tests run against our server only.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { TESTS_DIR, ack, closeAllClients, connect as connectNode, freePort, startServer, waitFor } from "../lib/harness.mjs";
import { assertClean, useBrowser } from "../lib/browser.mjs";

/** A certificate and key for 127.0.0.1 that Chromium accepts by hash (ECDSA P-256, ≤ 14
 *  days), and the hex SHA-256 of its DER bytes. */
function makeCertificate(dir) {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
      .concat(["-keyout", key, "-out", cert, "-days", "10", "-subj", "/CN=127.0.0.1"])
      .concat(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]),
    { stdio: "ignore" },
  );
  const hash = createHash("sha256").update(new X509Certificate(readFileSync(cert)).raw).digest("hex");
  return { cert, key, hash };
}

/** In the page: socket.io-client with `opts` plus the certificate's hash, connected (or the
 *  connect_error); `window.s` is the socket, `window.seen` what it went through. */
async function connect(page, url, hash, opts, client) {
  return page.evaluate(
    async ({ url, hash, opts, client }) => {
      const { io } = client == "ours" ? window.sio : await import("/sioc/socket.io.esm.min.js");
      const value = new Uint8Array(hash.match(/../g).map((h) => parseInt(h, 16)));
      const s = io(url, {
        forceNew: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 200,
        transportOptions: { webtransport: { serverCertificateHashes: [{ algorithm: "sha-256", value }] } },
        ...opts,
      });
      window.s = s;
      // Every argument of the ack (emitWithAck resolves with the first only).
      window.ack = (...args) =>
        new Promise((resolve, reject) => s.timeout(5000).emit(...args, (err, ...r) => (err ? reject(err) : resolve(r))));
      window.seen = [];
      // (Registered before anything can arrive: the engine opens on a later task.)
      s.io.on("open", () => window.seen.push(`open ${s.io.engine.transport.name}`));
      s.on("connect", () => window.seen.push("connect"));
      s.on("disconnect", (reason) => window.seen.push(`disconnect ${reason}`));
      s.io.on("reconnect", () => window.seen.push("reconnect"));
      s.io.engine.on("upgrade", (t) => window.seen.push(`upgrade ${t.name}`));
      await new Promise((resolve, reject) => {
        s.once("connect", resolve);
        s.once("connect_error", (e) => reject(new Error(`connect_error: ${e.message}`)));
      });
      return s.io.engine.transport.name;
    },
    { url, hash, opts, client },
  );
}

// Our wasm client, built with the `webtransport` feature (scripts/size-report.sh builds it into
// target/size-report/webtransport; SIO_CLIENT_WT_PKG elsewhere).
const WT_PKG = process.env.SIO_CLIENT_WT_PKG || path.join(TESTS_DIR, "..", "target", "size-report", "webtransport");
const CLIENTS = [
  ["socket.io-client 4.8", "theirs"],
  ["the wasm client (feature webtransport)", "ours"],
];

describe("WebTransport: the sio server, socket.io-client 4.8 and the wasm client", () => {
  const b = useBrowser({
    roots: () => {
      if (!existsSync(path.join(WT_PKG, "sio_client.js")))
        throw new Error(`no client built with the webtransport feature in ${WT_PKG}: run scripts/size-report.sh, or SIO_CLIENT_FEATURES=webtransport scripts/build-client.sh DIR with SIO_CLIENT_WT_PKG=DIR`);
      return { "/pkg-wt/": WT_PKG };
    },
    pkg: "/pkg-wt/",
  });
  const ctx = {};
  before(async () => {
    ctx.dir = mkdtempSync(path.join(tmpdir(), "sio-wt-"));
    Object.assign(ctx, makeCertificate(ctx.dir));
    ctx.port = await freePort();
    ctx.env = { WT_PORT: String(ctx.port), WT_CERT: ctx.cert, WT_KEY: ctx.key };
    ctx.srv = await startServer({ impl: "rust", env: ctx.env, port: ctx.port });
    ctx.url = ctx.srv.url;
    // With recovery on (events then carry their offset) and short heartbeats: the browser's
    // offline emulation does not carry the client's close of the QUIC session, so the server
    // notices by the ping timeout.
    const port = await freePort();
    const env = { ...ctx.env, WT_PORT: String(port), RECOVERY_MS: "60000", PING_INTERVAL_MS: "1000", PING_TIMEOUT_MS: "1000" };
    ctx.recovery = await startServer({ impl: "rust", env, port });
  });
  afterEach((t) => {
    const out = [ctx.srv, ctx.recovery].map((srv) => srv?.newLogs?.() || "").join("");
    if (!t.passed) console.error(`--- server output ---\n${out || "(none)\n"}--- end ---`);
  });
  after(async () => {
    await ctx.srv?.stop();
    await ctx.recovery?.stop();
    rmSync(ctx.dir, { recursive: true, force: true });
  });

  for (const [who, client] of CLIENTS) {
    test(`${who}: transports: ["webtransport"]: events, acks, binary, server emits`, async () => {
      const page = await b.page();
      assert.equal(await connect(page, ctx.url, ctx.hash, { transports: ["webtransport"] }, client), "webtransport");
      const got = await page.evaluate(async () => {
        const s = window.s;
        const echo = await window.ack("echo", { text: "héllo ✓", n: 2 ** 53 - 1 }, [1, null]);
        const bin = await window.ack("echo", new Uint8Array([1, 2, 250]).buffer, { deep: [new Uint8Array([7]).buffer] });
        const emitted = new Promise((resolve) => s.once("hello", (...args) => resolve(args)));
        s.emit("emit-as", "hello", "from the server", 42);
        return {
          echo,
          bin: [Array.from(new Uint8Array(bin[0])), Array.from(new Uint8Array(bin[1].deep[0]))],
          emitted: await emitted,
          transport: s.io.engine.transport.name,
        };
      });
      assert.deepEqual(got.echo, [{ text: "héllo ✓", n: 2 ** 53 - 1 }, [1, null]]);
      assert.deepEqual(got.bin, [[1, 2, 250], [7]]);
      assert.deepEqual(got.emitted, ["from the server", 42]);
      assert.equal(got.transport, "webtransport");
      assertClean(page);
    });

    test(`${who}: a polling session upgrades to WebTransport`, async () => {
      const page = await b.page();
      await connect(page, ctx.url, ctx.hash, { transports: ["polling", "webtransport"] }, client);
      const got = await page.evaluate(async () => {
        const s = window.s;
        if (s.io.engine.transport.name !== "webtransport") {
          await new Promise((resolve) => s.io.engine.once("upgrade", resolve));
        }
        const echo = await window.ack("echo", "after the upgrade");
        return { echo, transport: s.io.engine.transport.name, seen: window.seen };
      });
      assert.deepEqual(got.echo, ["after the upgrade"]);
      assert.equal(got.transport, "webtransport");
      // (The upgrade may complete before or after the namespace's CONNECT.)
      assert.deepEqual(
        got.seen.filter((e) => e !== "connect"),
        ["open polling", "upgrade webtransport"],
      );
      assert.equal(got.seen.filter((e) => e === "connect").length, 1);
      assertClean(page);
    });

    test(`${who}: a WebTransport session cut by the network is recovered: same id, rooms and data, the missed events`, async () => {
      const page = await b.page();
      const url = ctx.recovery.url;
      const probe = await connectNode(url);
      try {
        await connect(page, url, ctx.hash, { transports: ["webtransport"], reconnection: false }, client);
        const before = await page.evaluate(async () => {
          const s = window.s;
          window.got = t.collect(s, "bcast");
          await window.ack("join", "r1");
          await window.ack("set-data", { n: 1 });
          // (The client asks for recovery with the offset of the last event it got.)
          s.emit("emit-as", "bcast", 0);
          await t.waitFor(() => got.length === 1, "the first event");
          window.gone = t.next(s, "disconnect");
          return s.id;
        });
        await page.context().setOffline(true);
        assert.equal(await page.evaluate(async () => (await window.gone)[0]), "transport close");
        const count = async () => (await ack(probe, "server-info"))[0].nspSockets;
        await waitFor(async () => (await count()) === 1, { timeout: 10_000, what: "the page's socket gone from the server" });
        probe.emit("broadcast", 1);
        probe.emit("to-room", { room: "r1", k: 2 });
        probe.emit("to-room", { room: "elsewhere", k: 3 });
        await ack(probe, "echo", "after the broadcasts");
        await page.context().setOffline(false);
        const after = await page.evaluate(async () => {
          const s = window.s;
          await new Promise((resolve, reject) => {
            s.once("connect", resolve);
            s.once("connect_error", reject);
            s.connect();
          });
          await t.waitFor(() => got.length >= 3, "the missed events");
          const [state] = await window.ack("state");
          return { recovered: s.recovered, got: window.got, state, transport: s.io.engine.transport.name };
        });
        assert.equal(after.transport, "webtransport");
        assert.equal(after.recovered, true);
        assert.deepEqual(
          after.got.map((args) => args[0]),
          [0, 1, { room: "r1", k: 2 }],
        );
        for (const args of after.got) {
          assert.equal(args.length, 2, "each event carries its offset last");
          assert.equal(typeof args[1], "string");
        }
        assert.deepEqual(after.state, { id: before, recovered: true, rooms: ["r1"], data: { n: 1 } });
      } finally {
        await page.context().setOffline(false);
        closeAllClients();
      }
    });

    test(`${who}: the server restarts, and the client reconnects over WebTransport`, async () => {
      const page = await b.page();
      await connect(page, ctx.url, ctx.hash, { transports: ["webtransport"] }, client);
      // The listeners are in place before the server goes (an evaluate still on its way
      // could miss the event).
      await page.evaluate(() => {
        window.gone = new Promise((resolve) => window.s.once("disconnect", resolve));
        window.back = new Promise((resolve) => window.s.io.once("reconnect", resolve));
      });
      await ctx.srv.stop();
      // The server ends the QUIC connection: wtransport 0.7 cannot send the
      // CLOSE_WEBTRANSPORT_SESSION capsule, so Chromium rejects `closed`, which
      // socket.io-client reports as a transport error. Either way it reconnects.
      assert.equal(await page.evaluate(() => window.gone), "transport error");
      ctx.srv = await startServer({ impl: "rust", env: ctx.env, port: ctx.port });
      await page.evaluate(() => window.back);
      const got = await page.evaluate(async () => ({
        echo: await window.ack("echo", "back"),
        transport: window.s.io.engine.transport.name,
        seen: window.seen,
      }));
      assert.deepEqual(got.echo, ["back"]);
      assert.equal(got.transport, "webtransport");
      assert.deepEqual(got.seen, [
        "open webtransport",
        "connect",
        "disconnect transport error",
        "open webtransport",
        "reconnect",
        "connect",
      ]);
    });
  }

  // A server with no WebTransport (nothing on its UDP port), as behind a network that blocks
  // HTTP/3: `tryAllTransports` falls back to the next transport, without it the connection
  // fails.
  describe("tryAllTransports", () => {
    const plain = {};
    before(async () => {
      plain.srv = await startServer({ impl: "rust" });
    });
    after(async () => {
      await plain.srv?.stop();
    });

    for (const [who, client] of CLIENTS) {
      test(`${who}: ["webtransport", "websocket"] falls back to WebSocket`, async () => {
        const page = await b.page();
        const opts = { transports: ["webtransport", "websocket"], tryAllTransports: true, reconnection: false };
        assert.equal(await connect(page, plain.srv.url, ctx.hash, opts, client), "websocket");
        const got = await page.evaluate(async () => ({ echo: await window.ack("echo", "fell back"), seen: window.seen }));
        assert.deepEqual(got.echo, ["fell back"]);
        assert.deepEqual(got.seen, ["open websocket", "connect"]);
        // Chromium logs the failed attempt; socket.io-client also leaves the rejection of
        // `ready` unhandled (an upstream slip that ours does not share).
        const other = page.errors.filter(
          (e) => !/^Failed to establish a connection to https:/.test(e) && !(client == "theirs" && /^WebTransportError/.test(e)),
        );
        assert.deepEqual(other, []);
      });

      test(`${who}: without tryAllTransports, the failed WebTransport is a connect_error`, async () => {
        const page = await b.page();
        const opts = { transports: ["webtransport", "websocket"], reconnection: false };
        await assert.rejects(connect(page, plain.srv.url, ctx.hash, opts, client), /connect_error/);
        assert.deepEqual(await page.evaluate(() => window.seen), []);
      });
    }
  });
});
