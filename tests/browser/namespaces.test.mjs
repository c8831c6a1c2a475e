// Namespaces and multiplexing with the wasm client in Chromium: io(url) and io(url/custom)
// share one Manager and one Engine.IO session (conn-count with a `mux` query token);
// forceNew / multiplex:false / a namespace already taken make new ones; new Manager().socket();
// unknown namespace; the /auth middleware (refusal with data, object and function auth,
// socket.auth changed before connecting again); namespaces kept apart on one connection.
// Against the Rust and the Node contract servers, once per transport mode.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MODES } from "../lib/harness.mjs";
import { IMPLS, useBrowser, useServerFor, assertClean, assertNoTrap } from "../lib/browser.mjs";

const b = useBrowser();
const REFUSED = { message: "unauthorized", data: { code: 4001, reason: "token rejected" } };

let seq = 0;
const token = (mode) => `mux-${mode}-${process.pid}-${++seq}`;

for (const impl of IMPLS) {
  describe(`namespaces (${impl} server)`, () => {
    const srv = useServerFor(impl);

    for (const [mode, mopts] of Object.entries(MODES)) {
      describe(`[${mode}]`, () => {
        it("io(url) and io(url/custom) share one Manager and one Engine.IO session", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts, tok }) => {
              const o = { ...mopts, reconnection: false, query: { mux: tok } };
              const root = sio.io(url, o);
              const custom = sio.io(`${url}/custom`, o);
              const auth = sio.io(`${url}/auth`, { ...o, auth: { token: "secret" } });
              await Promise.all([root, custom, auth].map((s) => (s.connected ? null : t.next(s, "connect"))));
              const infos = [];
              for (const s of [root, custom, auth]) infos.push((await t.ack(s, "server-info"))[0]);
              const counts = [];
              for (const s of [root, custom, auth]) counts.push((await t.ack(s, "conn-count", tok))[0]);
              const r = {
                sameManager: root.io === custom.io && custom.io === auth.io,
                nsps: infos.map((i) => i.nsp),
                nspProps: [root.nsp, custom.nsp, auth.nsp],
                connIds: new Set(infos.map((i) => i.connId)).size,
                ids: infos.map((i, k) => i.id === [root, custom, auth][k].id),
                counts,
              };
              // events stay in their namespace over the shared connection
              const rootGot = t.collect(root, "bcast");
              custom.emit("broadcast", "only /custom");
              await t.next(custom, "bcast");
              await t.barrier(root);
              r.rootGot = rootGot;
              root.disconnect();
              // the connection stays up for the others
              r.afterRoot = (await t.ack(custom, "echo", "still"))[0];
              custom.disconnect();
              auth.disconnect();
              return r;
            },
            { url: srv.url, mopts, tok: token(mode) },
          );
          assert.equal(out.sameManager, true, "socket.io is the same Manager");
          assert.deepEqual(out.nsps, ["/", "/custom", "/auth"]);
          assert.deepEqual(out.nspProps, ["/", "/custom", "/auth"]);
          assert.equal(out.connIds, 1, "one Engine.IO session");
          assert.deepEqual(out.ids, [true, true, true]);
          assert.deepEqual(out.counts, [1, 1, 1]);
          assert.deepEqual(out.rootGot, []);
          assert.equal(out.afterRoot, "still");
          assertClean(page);
        });

        it("forceNew, multiplex:false and a namespace already taken make separate sessions", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts, tok }) => {
              const o = { ...mopts, reconnection: false, query: { mux: tok } };
              const up = (s) => (s.connected ? s : t.next(s, "connect").then(() => s));
              const a = await up(sio.io(url, o));
              const forced = await up(sio.io(`${url}/custom`, { ...o, forceNew: true }));
              const single = await up(sio.io(`${url}/custom`, { ...o, multiplex: false }));
              const again = await up(sio.io(url, o)); // "/" is taken on the cached Manager
              const shared = await up(sio.io(`${url}/custom`, o)); // but /custom is not
              const [n] = await t.ack(a, "conn-count", tok);
              const r = {
                n,
                forcedOwn: forced.io !== a.io,
                singleOwn: single.io !== a.io && single.io !== forced.io,
                againOwn: again.io !== a.io,
                sharedWithA: shared.io === a.io,
              };
              for (const s of [a, forced, single, again, shared]) s.disconnect();
              return r;
            },
            { url: srv.url, mopts, tok: token(mode) },
          );
          assert.deepEqual(out, { n: 4, forcedOwn: true, singleOwn: true, againOwn: true, sharedWithA: true });
          assertClean(page);
        });

        it("new Manager(url).socket(nsp) connects namespaces over one session", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts, tok }) => {
              const m = new sio.Manager(url, { ...mopts, reconnection: false, query: { mux: tok } });
              const root = m.socket("/");
              const custom = m.socket("/custom");
              const same = m.socket("/custom") === custom;
              await Promise.all([t.next(root, "connect"), t.next(custom, "connect")]);
              const [n] = await t.ack(custom, "conn-count", tok);
              const [info] = await t.ack(custom, "server-info");
              const r = { same, n, nsp: info.nsp, io: root.io === m && custom.io === m };
              root.disconnect();
              custom.disconnect();
              return r;
            },
            { url: srv.url, mopts, tok: token(mode) },
          );
          assert.deepEqual(out, { same: true, n: 1, nsp: "/custom", io: true });
          assertClean(page);
        });

        it('unknown namespace: connect_error "Invalid namespace"; the other namespaces keep working', async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const root = sio.io(url, { ...mopts, reconnection: false });
              await t.next(root, "connect");
              const bad = sio.io(`${url}/does-not-exist`, { ...mopts, reconnection: false });
              const [err] = await t.next(bad, "connect_error");
              const r = {
                err: t.show(err),
                sameManager: bad.io === root.io,
                bad: { connected: bad.connected, active: bad.active },
                echo: (await t.ack(root, "echo", "alive"))[0],
              };
              bad.disconnect();
              root.disconnect();
              return r;
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out.err, { $: "Error", message: "Invalid namespace", data: { $: "undefined" } });
          assert.equal(out.sameManager, true);
          assert.deepEqual(out.bad, { connected: false, active: false });
          assert.equal(out.echo, "alive");
          assertClean(page);
        });

        it('/auth refuses no auth, a wrong token, {} and a non-object: "unauthorized" with data', async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const errs = [];
              for (const auth of [undefined, { token: "nope" }, {}, { token: 1 }, (cb) => cb({ token: "nope" })]) {
                const o = { ...mopts };
                if (auth !== undefined) o.auth = auth;
                const s = sio.io(`${url}/auth`, { forceNew: true, reconnection: false, ...o });
                const [err] = await t.next(s, "connect_error");
                errs.push({ err: t.show(err), connected: s.connected, active: s.active });
                s.disconnect();
              }
              return errs;
            },
            { url: srv.url, mopts },
          );
          for (const e of out) {
            assert.deepEqual(e, { err: { $: "Error", ...REFUSED }, connected: false, active: false });
          }
          assertNoTrap(page);
        });

        it("/auth accepts the right token as an object and from an auth function", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const a = await t.connect(`${url}/auth`, { ...mopts, auth: { token: "secret" } });
              const [ia] = await t.ack(a, "server-info");
              a.disconnect();
              const f = await t.connect(`${url}/auth`, { ...mopts, auth: (cb) => setTimeout(() => cb({ token: "secret" }), 10) });
              const [iff] = await t.ack(f, "server-info");
              f.disconnect();
              return [ia.nsp, iff.nsp];
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, ["/auth", "/auth"]);
          assertClean(page);
        });

        it("refused on /auth, then socket.auth set to the right token and connect() again: connected", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const m = new sio.Manager(url, { ...mopts, reconnection: false });
              const root = m.socket("/");
              await t.next(root, "connect");
              const s = m.socket("/auth", { auth: { token: "wrong" } });
              const [err] = await t.next(s, "connect_error");
              s.auth = { token: "secret" };
              const p = Promise.race([
                t.next(s, "connect").then(() => "connect"),
                t.next(s, "connect_error").then(([e]) => `connect_error: ${e.message}`),
              ]);
              s.connect();
              const second = await p;
              if (second !== "connect") return { err: err.message, second };
              const [info] = await t.ack(s, "server-info");
              const [rootInfo] = await t.ack(root, "server-info");
              s.disconnect();
              root.disconnect();
              return { err: err.message, second, nsp: info.nsp, sameConn: info.connId === rootInfo.connId };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, { err: "unauthorized", second: "connect", nsp: "/auth", sameConn: true });
          assertNoTrap(page);
        });

        it("disconnect-me on /custom leaves / of the same Manager connected; /custom can join again", async () => {
          const page = await b.page();
          const out = await page.evaluate(
            async ({ url, mopts }) => {
              const m = new sio.Manager(url, { ...mopts, reconnection: false });
              const root = m.socket("/");
              const custom = m.socket("/custom");
              await Promise.all([t.next(root, "connect"), t.next(custom, "connect")]);
              const [before] = await t.ack(root, "server-info");
              const gone = t.next(custom, "disconnect");
              custom.emit("disconnect-me");
              const [reason] = await gone;
              const [after] = await t.ack(root, "server-info");
              const back = t.next(custom, "connect");
              custom.connect();
              await back;
              const [again] = await t.ack(custom, "server-info");
              const rootConnected = root.connected;
              root.disconnect();
              custom.disconnect();
              return { reason, sameConn: before.connId === after.connId && again.connId === before.connId, rootConnected };
            },
            { url: srv.url, mopts },
          );
          assert.deepEqual(out, { reason: "io server disconnect", sameConn: true, rootConnected: true });
          assertClean(page);
        });
      });
    }
  });
}
