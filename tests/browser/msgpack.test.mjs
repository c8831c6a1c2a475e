// The `parser` option with npm's socket.io-msgpack-parser, as socket.io-client takes it: the
// wasm client built with the `parser` feature (scripts/size-report.sh builds it into
// target/size-report/parser; SIO_CLIENT_PARSER_PKG elsewhere), in Chromium, against the Rust
// and the Node contract servers with PARSER=msgpack, once per transport mode: every packet is
// a binary msgpack frame; values of every kind, binary at any depth, acks both ways, server
// emits, namespaces, a refused auth with its data, the Manager's `packet` event. Then a fake
// server sending malformed msgpack: "parse error", as upstream. (SIO_BROWSER_CLIENT=ref runs
// the same expectations with socket.io-client 4.8.)
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it, after } from "node:test";
import * as esbuild from "esbuild";
import notepack from "notepack.io";
import { MODES, TESTS_DIR } from "../lib/harness.mjs";
import { IMPLS, IS_REF, assertClean, assertNoTrap, useBrowser, useFakeEngine, useServerFor } from "../lib/browser.mjs";

const PARSER_PKG = process.env.SIO_CLIENT_PARSER_PKG || path.join(TESTS_DIR, "..", "target", "size-report", "parser");
let work;
const b = useBrowser({
  pkg: "/pkg-parser/",
  roots: async () => {
    if (!IS_REF && !existsSync(path.join(PARSER_PKG, "sio_client.js")))
      throw new Error(`no client built with the parser feature in ${PARSER_PKG}: run scripts/size-report.sh, or SIO_CLIENT_FEATURES=parser scripts/build-client.sh DIR with SIO_CLIENT_PARSER_PKG=DIR`);
    // The npm parser as a page imports it, bundled for the browser (notepack.io's browser build).
    work = await mkdtemp(path.join(tmpdir(), "sio-msgpack-"));
    await esbuild.build({
      stdin: { contents: 'import parser from "socket.io-msgpack-parser"; export default parser;', resolveDir: TESTS_DIR },
      bundle: true,
      format: "esm",
      platform: "browser",
      outfile: path.join(work, "parser.mjs"),
      logLevel: "silent",
    });
    return { "/pkg-parser/": PARSER_PKG, "/msgpack/": work };
  },
});
after(() => work && rm(work, { recursive: true, force: true }));

/** What t.show() makes of an ArrayBuffer holding `bytes`. */
const AB = (bytes) => ({ $: "ArrayBuffer", bytes });

/** In the page: the parser, and a socket of a new Manager on `url` using it. */
async function setup() {
  window.parser = (await import("/msgpack/parser.mjs")).default;
  window.openSocket = (url, opts) => t.connect(url, { ...opts, parser: window.parser });
}

for (const impl of IMPLS) {
  describe(`msgpack parser (${impl} server, PARSER=msgpack)`, () => {
    const srv = useServerFor(impl, { env: { PARSER: "msgpack" } });

    for (const [mode, mopts] of Object.entries(MODES)) {
      describe(`[${mode}]`, () => {
        it("every packet is one binary frame; values, binary at any depth and acks go both ways", async () => {
          const page = await b.page();
          await page.evaluate(setup);
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const s = await openSocket(url, mopts);
              // What goes out and comes in from now on, as engine packets.
              const frames = [];
              s.io.engine.on("packetCreate", (p) => frames.push(["out", p.type, typeof p.data]));
              s.io.engine.on("packet", (p) => p.type == "message" && frames.push(["in", p.type, typeof p.data]));
              const values = ["é ✓ 😀", 0, -1, 1.5, 2 ** 53 - 1, true, false, null, [], {}, { a: [1, { b: "x" }] }];
              const echo = await t.ack(s, "echo", ...values);
              // (Over polling so far; the rest over WebSocket once upgraded.)
              if (!mopts.transports) await t.waitFor(() => s.io.engine.transport.name == "websocket", "the upgrade");
              // (The npm parser's browser encoder, notepack.io 2, takes ArrayBuffers: a typed
              // array goes as a map of its indices, as with socket.io-client.)
              const bin = await t.ack(s, "echo", t.bytes(3).buffer, { deep: [{ buf: t.bytes(2, 5).buffer }], n: 1 }, new ArrayBuffer(0), t.bytes(2));
              // An event from the server, then an ack the client owes it.
              const got = t.next(s, "hi");
              s.emit("emit-as", "hi", { x: t.bytes(4, 2).buffer }, "two");
              const hi = await got;
              s.once("ping-client", (d, ack) => ack("pong", d, t.bytes(1, 9).buffer));
              const acked = t.next(s, "client-acked");
              s.emit("server-ack", { n: 7 });
              const back = await acked;
              const upgraded = s.io.engine.transport.name;
              s.disconnect();
              return { echo, bin: t.show(bin), hi: t.show(hi), back: t.show(back), frames, upgraded };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.echo, ["é ✓ 😀", 0, -1, 1.5, 2 ** 53 - 1, true, false, null, [], {}, { a: [1, { b: "x" }] }]);
          assert.deepEqual(out.bin, [AB([7, 38, 69]), { deep: [{ buf: AB([35, 66]) }], n: 1 }, AB([]), { 0: 7, 1: 38 }]);
          assert.deepEqual(out.hi, [{ x: AB([14, 45, 76, 107]) }, "two"]);
          assert.deepEqual(out.back, ["pong", { n: 7 }, AB([63])]);
          // Only binary message frames, whatever the transport: the msgpack parser is in use
          // (the default one sends text frames, and binary ones only as attachments).
          const messages = out.frames.filter(([, type]) => type == "message");
          assert.ok(messages.length >= 8, JSON.stringify(out.frames));
          assert.deepEqual(messages.filter(([, , data]) => data != "object"), [], JSON.stringify(out.frames));
          assert.equal(out.upgraded, mode == "polling" ? "polling" : "websocket");
          assertClean(page);
        });

        it("namespaces on one connection, a refused auth with its data, and the Manager's packets", async () => {
          const page = await b.page();
          await page.evaluate(setup);
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const root = await openSocket(url, mopts);
              const m = root.io;
              const packets = [];
              m.on("packet", (p) => packets.push(t.show(p)));
              const auth = m.socket("/auth", { auth: { token: "secret" } });
              await t.next(auth, "connect");
              const [echoed] = await t.ack(auth, "echo", "in /auth");
              const custom = m.socket("/custom");
              await t.next(custom, "connect");
              const refused = sio.io(url + "/auth", { ...mopts, forceNew: true, reconnection: false, parser, auth: { token: "nope" } });
              const [err] = await t.next(refused, "connect_error");
              const unknown = m.socket("/nowhere");
              const [err2] = await t.next(unknown, "connect_error");
              const same = root.io === auth.io && auth.io === custom.io;
              for (const s of [root, auth, custom, refused, unknown]) s.disconnect();
              return { echoed, err: { message: err.message, data: err.data }, err2: err2.message, same, packets };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, {
            echoed: "in /auth",
            err: { message: "unauthorized", data: { code: 4001, reason: "token rejected" } },
            err2: "Invalid namespace",
            same: true,
            packets: out.packets,
          });
          // The Manager's `packet` event has the decoded packets, as the parser made them.
          const types = out.packets.map((p) => [p.type, p.nsp]);
          assert.deepEqual(types.filter(([type]) => type == 0).map(([, nsp]) => nsp), ["/auth", "/custom"]);
          assert.ok(types.some(([type, nsp]) => type == 3 && nsp == "/auth"), JSON.stringify(out.packets));
          assert.ok(types.some(([type, nsp]) => type == 4 && nsp == "/nowhere"), JSON.stringify(out.packets));
          assertClean(page);
        });
      });
    }
  });
}

// What a server that sends malformed msgpack gets: a "parse error" disconnect, the session
// closed, and a reconnection attempt; never a trap.
const MALFORMED = {
  "not msgpack": Buffer.from([0xc1]),
  "a text frame": '2["ev"]',
  "an unknown packet type": notepack.encode({ type: 9, nsp: "/" }),
  "an event whose data is not an array": notepack.encode({ type: 2, nsp: "/", data: "x" }),
  "no namespace": notepack.encode({ type: 2, data: ["ev"] }),
};

describe("msgpack parser: malformed packets from the server", () => {
  const srv = useFakeEngine((conn, m, bad) => {
    if (typeof m == "string") return;
    const p = notepack.decode(m);
    if (p.type !== 0) return;
    conn.send(notepack.encode({ type: 0, nsp: p.nsp, data: { sid: "fake-sid" } }));
    conn.send(MALFORMED[bad]);
  });

  for (const [mode, mopts] of Object.entries({ polling: MODES.polling, websocket: MODES.websocket })) {
    for (const what of Object.keys(MALFORMED)) {
      it(`[${mode}] ${what}: disconnect "parse error", then a reconnection attempt`, async () => {
        const page = await b.page();
        await page.evaluate(setup);
        const log = await page.evaluate(
          async ({ url, opts }) => {
            const s = sio.io(url, { forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100, randomizationFactor: 0, parser, ...opts });
            const log = [];
            s.on("connect", () => log.push(["connect"]));
            s.on("disconnect", (reason) => log.push(["disconnect", reason]));
            await t.next(s.io, "reconnect_attempt");
            log.push(["reconnect_attempt"]);
            s.disconnect();
            return log;
          },
          { url: srv.url, opts: { ...mopts, query: { bad: what } } },
        );
        // (socket.io-client may report "connect" after the "disconnect": it delivers decoded
        // packets a tick later, parse errors at once.)
        const k = log.findIndex((l) => l[0] === "disconnect");
        assert.deepEqual(log[k], ["disconnect", "parse error"], JSON.stringify(log));
        assert.ok(log.findIndex((l) => l[0] === "reconnect_attempt") > k, JSON.stringify(log));
        assertNoTrap(page);
      });
    }
  }
});
