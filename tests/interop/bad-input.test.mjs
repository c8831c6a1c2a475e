// Bad input on the wire: raw HTTP (fetch / node:net) and raw websocket (ws) clients,
// asserting what Node's socket.io 4.8 answers (status codes and JSON error bodies exactly;
// "the session is closed" where Node's way of closing is an implementation detail).
// Server: MAX_PAYLOAD=1000, default heartbeat. After every case a normal client must still
// get an echo round trip.
//
// Node 4.8 reference behaviour, for the record:
// - HTTP errors: 400 + application/json {"code":N,"message":...}:
//   0 "Transport unknown", 1 "Session ID unknown", 2 "Bad handshake method",
//   3 "Bad request", 5 "Unsupported protocol version".
// - A POST is answered 200 "ok" (text/html) before its packets are looked at, even when they
//   are malformed; the session is then closed:
//   * Engine.IO-level errors (unknown packet type, empty payload, client ping "2", close
//     "1"): closed at once, the next GET gets 400 "Session ID unknown".
//   * Socket.IO-level errors (bad JSON, bad packet shape, unknown packet type, event for a
//     namespace not connected, event before CONNECT, second CONNECT, bad attachments):
//     graceful close: the next GET gets 200 "6\x1e1" (noop, close), then 400.
//   Over websocket the same cases just close the websocket (close frame without a code, 1005).
// - POST body over maxHttpBufferSize: 413 with an empty body, the oversized packets are
//   dropped; Node keeps the session open (closing it is accepted too).
// - websocket message over maxPayload: closed with 1009.
// - Second concurrent GET: it gets 400 (empty body), the pending GET gets 200 "1", the session
//   is gone. Second concurrent POST: 400 (empty body), session closed.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import WebSocket from "ws";
import { useServer, connect, ack, once } from "../lib/harness.mjs";
import {
  http,
  pollingUrl,
  wsUrl,
  PollingSession,
  WsSession,
  rawTcpWebsocket,
  wsFrame,
  SEP,
  SESSION_UNKNOWN,
  TRANSPORT_UNKNOWN,
  BAD_HANDSHAKE_METHOD,
  BAD_REQUEST,
  UNSUPPORTED_PROTOCOL,
} from "../lib/raw.mjs";

const MAX = 1000;
const srv = useServer({ MAX_PAYLOAD: String(MAX) });

/** A normal socket.io-client still gets an echo round trip, and the process is alive. */
async function healthy() {
  assert.equal(srv.alive(), true, "server process died");
  for (const transports of [["websocket"], ["polling"]]) {
    const s = await connect(srv.url, { transports });
    const [v] = await ack(s, "echo", { ok: transports[0] });
    assert.deepEqual(v, { ok: transports[0] });
    s.disconnect();
  }
}

function assertJsonError(r, body, status = 400) {
  assert.equal(r.status, status, `status (body ${r.text})`);
  assert.match(r.headers.get("content-type") || "", /^application\/json/);
  assert.deepEqual(r.json(), body);
}

/**
 * The polling session must be closed: every following GET either gets 400 "Session ID
 * unknown", or 200 with packets ending in a close packet "1" (then 400).
 */
async function assertPollingClosed(sess) {
  const seen = [];
  for (let k = 0; k < 5; k++) {
    const r = await sess.get({ timeout: 5_000 });
    if (r.status === 400) {
      assert.deepEqual(r.json(), SESSION_UNKNOWN);
      return seen;
    }
    assert.equal(r.status, 200, `GET ${r.status} ${r.text}`);
    seen.push(...r.packets);
    if (r.packets.includes("1")) {
      assert.equal(r.packets[r.packets.length - 1], "1", `close packet must come last: ${JSON.stringify(r.packets)}`);
      const after = await sess.get();
      assertJsonError(after, SESSION_UNKNOWN);
      return seen;
    }
  }
  assert.fail(`polling session still open: ${JSON.stringify(seen)}`);
}

/** The polling session must still work: an echo round trip with ack id 901. */
async function assertPollingAlive(sess) {
  assert.deepEqual(await sess.echo("alive", 901), ["alive"]);
}

/** Rebuild a Socket.IO packet's data from its placeholders and attachments. */
function reconstruct(data, attachments) {
  if (Array.isArray(data)) return data.map((x) => reconstruct(x, attachments));
  if (data && typeof data === "object") {
    if (data._placeholder === true && typeof data.num === "number") return attachments[data.num];
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, reconstruct(v, attachments)]));
  }
  return data;
}

describe("HTTP: handshake and session errors", () => {
  const U = (q) => pollingUrl(srv.url, q);

  test("GET with an unknown sid -> 400 Session ID unknown", async () => {
    assertJsonError(await http(U("EIO=4&transport=polling&sid=nope")), SESSION_UNKNOWN);
    await healthy();
  });

  test("POST with an unknown sid -> 400 Session ID unknown", async () => {
    assertJsonError(await http(U("EIO=4&transport=polling&sid=nope"), { method: "POST", body: "40" }), SESSION_UNKNOWN);
    await healthy();
  });

  for (const q of ["EIO=3&transport=polling", "EIO=5&transport=polling", "EIO=x&transport=polling", "transport=polling", "EIO=&transport=polling"]) {
    test(`handshake ${q} -> 400 Unsupported protocol version`, async () => {
      assertJsonError(await http(U(q)), UNSUPPORTED_PROTOCOL);
      await healthy();
    });
  }

  for (const q of ["EIO=4&transport=foo", "EIO=4", "EIO=4&transport="]) {
    test(`handshake ${q} -> 400 Transport unknown`, async () => {
      assertJsonError(await http(U(q)), TRANSPORT_UNKNOWN);
      await healthy();
    });
  }

  test("POST without sid (handshake must be a GET) -> 400 Bad handshake method", async () => {
    assertJsonError(await http(U("EIO=4&transport=polling"), { method: "POST", body: "40" }), BAD_HANDSHAKE_METHOD);
    await healthy();
  });

  test("GET transport=websocket without upgrade headers -> 400 Bad request", async () => {
    assertJsonError(await http(U("EIO=4&transport=websocket")), BAD_REQUEST);
    await healthy();
  });

  test("GET transport=websocket with a polling sid, without upgrade headers -> 400 Bad request", async () => {
    const p = await PollingSession.handshake(srv.url);
    assertJsonError(await http(U(`EIO=4&transport=websocket&sid=${p.sid}`)), BAD_REQUEST);
    await healthy();
  });

  test("polling GET / POST with the sid of a websocket session -> 400 Bad request", async () => {
    const w = await WsSession.handshake(srv.url);
    assertJsonError(await http(U(`EIO=4&transport=polling&sid=${w.sid}`)), BAD_REQUEST);
    assertJsonError(await http(U(`EIO=4&transport=polling&sid=${w.sid}`), { method: "POST", body: "40" }), BAD_REQUEST);
    // the websocket session itself is unaffected
    await w.connect("/");
    assert.deepEqual(await w.echo(1), [1]);
    w.close();
    await healthy();
  });

  test("polling GET / POST on a session that has upgraded to websocket -> 400 Bad request", async () => {
    const s = await connect(srv.url, {}); // polling, then upgrade
    if (s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
    const sid = s.io.engine.id;
    // The client reports "upgrade" once it has sent `5`; a round trip over the websocket
    // proves the server has switched too (frames of one websocket arrive in order).
    const [v] = await ack(s, "echo", "upgraded");
    assert.equal(v, "upgraded");
    assertJsonError(await http(U(`EIO=4&transport=polling&sid=${sid}`)), BAD_REQUEST);
    assertJsonError(await http(U(`EIO=4&transport=polling&sid=${sid}`), { method: "POST", body: '42["echo"]' }), BAD_REQUEST);
    await healthy();
  });

  test("websocket upgrade with an unknown sid is refused with HTTP 400", async () => {
    const ws = new WebSocket(wsUrl(srv.url, "EIO=4&transport=websocket&sid=nope"));
    const [err] = await once(ws, "error");
    assert.match(err.message, /Unexpected server response: 400/);
    await healthy();
  });

  test("websocket upgrade with transport=foo is refused with HTTP 400", async () => {
    const ws = new WebSocket(wsUrl(srv.url, "EIO=4&transport=foo"));
    const [err] = await once(ws, "error");
    assert.match(err.message, /Unexpected server response: 400/);
    await healthy();
  });

  test("websocket with EIO=3 never gets an Engine.IO open packet", async () => {
    // Node answers 101 and then writes an HTTP 400 into the socket; a plain 400 is fine too.
    const ws = new WebSocket(wsUrl(srv.url, "EIO=3&transport=websocket"));
    const msgs = [];
    ws.on("message", (m) => msgs.push(String(m)));
    ws.on("error", () => {});
    await once(ws, "close");
    assert.deepEqual(msgs.filter((m) => m.startsWith("0")), []);
    await healthy();
  });

  test("CORS: preflight OPTIONS is answered 2xx with Access-Control-Allow-Origin", async () => {
    const origin = "http://example.test:8080";
    const r = await http(U("EIO=4&transport=polling"), {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.ok(r.status >= 200 && r.status < 300, `preflight status ${r.status}`);
    assert.ok(["*", origin].includes(r.headers.get("access-control-allow-origin")), `ACAO ${r.headers.get("access-control-allow-origin")}`);
    const h = await http(U("EIO=4&transport=polling"), { headers: { origin } });
    assert.equal(h.status, 200);
    assert.ok(["*", origin].includes(h.headers.get("access-control-allow-origin")));
    await healthy();
  });

  test("polling handshake: 200, open packet with sid, upgrades, pingInterval, pingTimeout, maxPayload", async () => {
    const r = await http(U("EIO=4&transport=polling"));
    assert.equal(r.status, 200);
    assert.equal(r.text[0], "0");
    const open = JSON.parse(r.text.slice(1));
    assert.equal(typeof open.sid, "string");
    assert.deepEqual(open.upgrades, ["websocket"]);
    assert.equal(open.pingInterval, 25000);
    assert.equal(open.pingTimeout, 20000);
    assert.equal(open.maxPayload, MAX);
    await healthy();
  });
});

describe("HTTP: polling session misuse", () => {
  test("two concurrent GETs: the later one gets 400, the pending one the close packet, the session is gone", async () => {
    const p = await PollingSession.handshake(srv.url);
    await p.connect("/");
    // both GETs wait (nothing to send); whichever reaches the server second overlaps
    const [g1, g2] = await Promise.all([p.get({ timeout: 10_000 }), p.get({ timeout: 10_000 })]);
    const [overlap, pending] = g1.status === 400 ? [g1, g2] : [g2, g1];
    assert.equal(overlap.status, 400, `overlapping GET: ${overlap.status} ${overlap.text}`);
    assert.equal(pending.status, 200, `pending GET: ${pending.status} ${pending.text}`);
    assert.ok(pending.packets.includes("1"), `pending GET got ${JSON.stringify(pending.packets)}`);
    assertJsonError(await p.get(), SESSION_UNKNOWN);
    await healthy();
  });

  test("two concurrent POSTs: the later one gets 400 and the session is closed", async () => {
    const p = await PollingSession.handshake(srv.url);
    await p.connect("/");
    const u = new URL(p.url);
    // two POSTs that each send half of their body and stall: whichever reaches the server
    // second overlaps and must be answered 400
    const socks = await Promise.all(
      [0, 1].map(async () => {
        const sock = net.connect(srv.port, "127.0.0.1");
        sock.on("error", () => {});
        sock.setEncoding("latin1");
        await once(sock, "connect");
        return sock;
      }),
    );
    const answered = Promise.race(
      socks.map(
        (sock, k) =>
          new Promise((resolve) => {
            let got = "";
            sock.on("data", (d) => {
              got += d;
              if (got.includes("\r\n\r\n")) resolve([k, got]);
            });
          }),
      ),
    );
    for (const sock of socks) {
      sock.write(`POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n42["e`);
    }
    const [, head] = await answered;
    assert.match(head, /^HTTP\/1\.1 400 /, `overlapping POST answered ${JSON.stringify(head.slice(0, 200))}`);
    await assertPollingClosed(p);
    for (const sock of socks) sock.destroy();
    await healthy();
  });

  test("POST with Content-Type application/octet-stream -> 400, session closed", async () => {
    const p = await PollingSession.handshake(srv.url);
    await p.connect("/");
    const r = await p.post("42[\"echo\"]", { headers: { "content-type": "application/octet-stream" } });
    assert.equal(r.status, 400);
    await assertPollingClosed(p);
    await healthy();
  });

  test("POST of a close packet '1' closes the session", async () => {
    const p = await PollingSession.handshake(srv.url);
    await p.connect("/");
    const r = await p.post("1");
    assert.equal(r.status, 200);
    assert.equal(r.text, "ok");
    await assertPollingClosed(p);
    await healthy();
  });

  test("handshake-only sessions abandoned in bulk (50) do not disturb the server", async () => {
    const sessions = await Promise.all(Array.from({ length: 50 }, () => PollingSession.handshake(srv.url)));
    assert.equal(new Set(sessions.map((s) => s.sid)).size, 50);
    await healthy();
  });
});

// Malformed packets: `close` = the session must be closed, `alive` = it must keep working.
// `pre` = what to send before (default: CONNECT to "/").
const MALFORMED = [
  // Engine.IO level
  { name: "unknown Engine.IO packet type '9'", body: "9", expect: "close" },
  { name: "empty payload", body: "", expect: "close" },
  { name: "ping '2' from the client (wrong heartbeat direction)", body: "2", expect: "close" },
  { name: "valid packet then an invalid one in one payload", body: `421["echo",1]${SEP}9`, expect: "close", ws: false },
  // Socket.IO level
  { name: "message '4' with no Socket.IO packet", body: "4", expect: "close" },
  { name: "'4garbage'", body: "4garbage", expect: "close" },
  { name: "unknown Socket.IO packet type '49'", body: "49", expect: "close" },
  { name: "'4x'", body: "4x", expect: "close" },
  { name: "EVENT with truncated JSON 42[\"x\"", body: '42["x"', expect: "close" },
  { name: "EVENT with truncated JSON 42[1,", body: "42[1,", expect: "close" },
  { name: "EVENT with an object payload 42{}", body: "42{}", expect: "close" },
  { name: "EVENT with an empty array 42[]", body: "42[]", expect: "close" },
  { name: "EVENT with a string payload", body: '42"str"', expect: "close" },
  { name: "EVENT with null payload", body: "42null", expect: "close" },
  { name: "EVENT with a null event name", body: "42[null]", expect: "close" },
  { name: "EVENT with an object event name", body: "42[{}]", expect: "close" },
  { name: "EVENT with a boolean event name", body: "42[true]", expect: "close" },
  { name: "EVENT with a negative ack id", body: '42-1["a"]', expect: "close" },
  { name: "CONNECT_ERROR from the client", body: '44{"message":"x"}', expect: "close" },
  { name: "EVENT for a namespace not connected", body: '42/nope,["echo",1]', expect: "close" },
  { name: "EVENT for /custom without CONNECTing to it", body: '421/custom,["echo",1]', expect: "close" },
  { name: "DISCONNECT for a namespace not connected", body: "41/nope,", expect: "close" },
  { name: "ACK for a namespace not connected", body: "43/custom,5[1]", expect: "close" },
  { name: "second CONNECT to an already connected namespace", body: "40", expect: "close" },
  { name: "EVENT before any CONNECT", body: '42["echo",1]', expect: "close", pre: [] },
  { name: "EVENT with ack before any CONNECT", body: '421["echo",1]', expect: "close", pre: [] },
  { name: "BINARY_EVENT without '-' after the attachment count", body: '451["echo"]', expect: "close" },
  { name: "BINARY_EVENT whose placeholder index is out of range", body: '451-["echo",{"_placeholder":true,"num":5}]', attachments: [[1, 2, 3]], expect: "close" },
  { name: "BINARY_EVENT interrupted by a text packet before its attachments", body: '452-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', attachments: [[1, 2, 3]], then: '421["echo",1]', expect: "close" },
  { name: "binary attachment with no BINARY_EVENT pending", body: null, attachments: [[1, 2, 3]], expect: "close" },
  // tolerated
  { name: "noop '6' from the client", body: "6", expect: "alive" },
  { name: "unsolicited pong '3'", body: "3", expect: "alive" },
  { name: "ACK for an unknown id", body: "43[1]", expect: "alive" },
  { name: "ACK for an unknown id with no data", body: "4399", expect: "alive" },
  { name: "ACK with neither id nor data '43'", body: "43", expect: "alive" },
  { name: "EVENT nobody handles", body: '42["nothing-here",1,{"a":[2]}]', expect: "alive" },
  { name: "EVENT with an ack nobody handles", body: '4255["nothing-here"]', expect: "alive" },
  { name: "EVENT with a placeholder-looking object but no attachments", body: '42["nothing-here",{"_placeholder":true,"num":0}]', expect: "alive" },
  { name: "CONNECT to an unknown namespace", body: "40/nope,", expect: "alive", reply: (m) => m.startsWith("44/nope,") },
];

function b64(bytes) {
  return "b" + Buffer.from(bytes).toString("base64");
}

describe("malformed packets over HTTP long-polling (POST)", () => {
  for (const c of MALFORMED) {
    test(`${c.name}: ${c.expect === "close" ? "session closed" : "session keeps working"}`, async () => {
      const p = await PollingSession.handshake(srv.url);
      if (!c.pre) await p.connect("/");
      const parts = [];
      if (c.body !== null) parts.push(c.body);
      for (const a of c.attachments || []) parts.push(b64(a));
      if (c.then) parts.push(c.then);
      const r = await p.post(parts.join(SEP));
      assert.equal(r.status, 200, `POST answered ${r.status} ${r.text}`);
      assert.equal(r.text, "ok");
      if (c.expect === "close") {
        await assertPollingClosed(p);
      } else {
        if (c.reply) {
          const m = await p.receive(c.reply);
          assert.deepEqual(JSON.parse(m.slice(m.indexOf(",") + 1)), { message: "Invalid namespace" });
        }
        await assertPollingAlive(p);
      }
      await healthy();
    });
  }
});

describe("malformed packets over websocket", () => {
  for (const c of MALFORMED.filter((c) => c.ws !== false)) {
    test(`${c.name}: ${c.expect === "close" ? "websocket closed" : "session keeps working"}`, async () => {
      const w = await WsSession.handshake(srv.url);
      if (!c.pre) await w.connect("/");
      if (c.body !== null) w.send(c.body);
      for (const a of c.attachments || []) w.send(Buffer.from(a));
      if (c.then) w.send(c.then);
      if (c.expect === "close") {
        const closed = await w.waitClosed({ timeout: 5_000 });
        assert.ok(closed.code >= 1000, `close code ${closed.code}`);
      } else {
        if (c.reply) {
          const m = await w.receive((m) => typeof m === "string" && c.reply(m));
          assert.deepEqual(JSON.parse(m.slice(m.indexOf(",") + 1)), { message: "Invalid namespace" });
        }
        assert.deepEqual(await w.echo("alive", 901), ["alive"]);
        assert.equal(w.closeInfo, null);
        w.close();
      }
      await healthy();
    });
  }

  test("a text frame with invalid UTF-8 closes the websocket", async () => {
    const sock = await rawTcpWebsocket(srv.port);
    const closed = once(sock, "close", { timeout: 5_000 });
    sock.on("data", () => {});
    sock.on("error", () => {});
    sock.write(wsFrame(Buffer.from([0x34, 0x32, 0xff, 0xfe]))); // "42" + invalid UTF-8
    await closed;
    await healthy();
  });
});

describe("binary attachments on the raw wire", () => {
  test("polling: BINARY_EVENT with a base64 attachment is acked as BINARY_ACK with the same bytes", async () => {
    const p = await PollingSession.handshake(srv.url);
    await p.connect("/");
    const r = await p.post(['451-7["echo",{"_placeholder":true,"num":0}]', b64([1, 2, 3])].join(SEP));
    assert.equal(r.status, 200);
    const head = await p.receive((m) => m.startsWith("461-7["));
    const rest = await p.receive((m) => m.startsWith("b"));
    assert.deepEqual(reconstruct(JSON.parse(head.slice(5)), [Buffer.from(rest.slice(1), "base64")]), [Buffer.from([1, 2, 3])]);
    await healthy();
  });

  test("websocket: BINARY_EVENT in /custom with 2 attachments (one empty) -> BINARY_ACK with the same data", async () => {
    const w = await WsSession.handshake(srv.url);
    await w.connect("/custom");
    w.send('452-/custom,7["echo",{"a":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}]');
    w.send(Buffer.from([1, 2, 3]));
    w.send(Buffer.alloc(0));
    const head = await w.receive((m) => typeof m === "string" && m.startsWith("462-/custom,7["));
    const atts = [await w.next(), await w.next()];
    assert.ok(atts.every(Buffer.isBuffer), "attachments must be binary frames");
    const data = reconstruct(JSON.parse(head.slice("462-/custom,7".length)), atts);
    assert.deepEqual(data, [{ a: Buffer.alloc(0) }, Buffer.from([1, 2, 3])]);
    w.close();
    await healthy();
  });
});

describe(`payload limits (MAX_PAYLOAD=${MAX})`, () => {
  const echoOf = (len, id) => {
    const head = `42${id}["echo","`;
    const s = head + "a".repeat(len - head.length - 2) + '"]';
    assert.equal(Buffer.byteLength(s), len);
    return s;
  };

  test(`polling: a POST body of exactly ${MAX} bytes is accepted`, async () => {
    const p = await PollingSession.handshake(srv.url);
    await p.connect("/");
    const r = await p.post(echoOf(MAX, 11));
    assert.equal(r.status, 200);
    const m = await p.receive((m) => m.startsWith("4311["));
    assert.equal(JSON.parse(m.slice(4))[0].length, MAX - '4211["echo",""]'.length);
    await healthy();
  });

  for (const len of [MAX + 1, 200_000]) {
    test(`polling: a POST body of ${len} bytes -> 413, its packets are dropped`, async () => {
      const p = await PollingSession.handshake(srv.url);
      await p.connect("/");
      const r = await p.post(echoOf(len, 12));
      assert.equal(r.status, 413);
      // Node keeps the session (the oversized body is dropped); a closed session is accepted.
      const next = await p.post('4213["echo","after"]');
      if (next.status === 200) {
        const g = await p.get();
        if (g.status === 200 && !g.packets.includes("1")) {
          assert.deepEqual(g.packets, ['4313["after"]'], "the oversized echo must not be processed");
        } else if (g.status !== 200) {
          assertJsonError(g, SESSION_UNKNOWN);
        }
      } else {
        assertJsonError(next, SESSION_UNKNOWN);
      }
      await healthy();
    });
  }

  test(`websocket: a message of exactly ${MAX} bytes is accepted`, async () => {
    const w = await WsSession.handshake(srv.url);
    await w.connect("/");
    w.send(echoOf(MAX, 14));
    const m = await w.receive((m) => typeof m === "string" && m.startsWith("4314["));
    assert.ok(m.length > 900);
    w.close();
    await healthy();
  });

  for (const len of [MAX + 1, 100_000]) {
    test(`websocket: a text message of ${len} bytes -> closed with 1009`, async () => {
      const w = await WsSession.handshake(srv.url);
      await w.connect("/");
      w.send(echoOf(len, 15));
      const closed = await w.waitClosed();
      assert.equal(closed.code, 1009);
      await healthy();
    });
  }

  test(`websocket: a binary attachment of ${MAX + 1} bytes -> closed with 1009`, async () => {
    const w = await WsSession.handshake(srv.url);
    await w.connect("/");
    w.send('451-16["echo",{"_placeholder":true,"num":0}]');
    w.send(Buffer.alloc(MAX + 1, 7));
    const closed = await w.waitClosed();
    assert.equal(closed.code, 1009);
    await healthy();
  });

  test("socket.io-client over polling: emitting more than maxPayload -> disconnect 'transport error'", async () => {
    const s = await connect(srv.url, { transports: ["polling"] });
    const d = once(s, "disconnect");
    s.emit("echo", "x".repeat(MAX * 2), () => assert.fail("oversized echo acked"));
    const [reason, details] = await d;
    assert.equal(reason, "transport error");
    assert.equal(details && details.context && details.context.status, 413);
    await healthy();
  });

  test("socket.io-client over websocket: emitting more than maxPayload -> disconnect 'transport close'", async () => {
    const s = await connect(srv.url, { transports: ["websocket"] });
    const d = once(s, "disconnect");
    s.emit("echo", "x".repeat(MAX * 2), () => assert.fail("oversized echo acked"));
    const [reason] = await d;
    assert.equal(reason, "transport close");
    await healthy();
  });
});

describe("misbehaving clients", () => {
  test("a websocket client that never reads while the server floods it does not hurt others", async () => {
    const N = 200_000; // ~7 MB of tp events: more than the kernel socket buffers hold
    const stuck = await rawTcpWebsocket(srv.port);
    stuck.on("error", () => {});
    stuck.write(wsFrame(`42["flood",${N}]`));
    stuck.pause(); // never read again
    const other = await connect(srv.url, { transports: ["websocket"] }, { timeout: 20_000 });
    const [v] = await new Promise((resolve, reject) => {
      other.timeout(20_000).emit("echo", "while flooding", (err, ...res) => (err ? reject(err) : resolve(res)));
    });
    assert.equal(v, "while flooding");
    const poller = await connect(srv.url, { transports: ["polling"] }, { timeout: 20_000 });
    const [v2] = await ack(poller, "echo", "polling too");
    assert.equal(v2, "polling too");
    assert.equal(srv.alive(), true);
    stuck.destroy();
    await healthy();
    const [v3] = await ack(other, "echo", "after");
    assert.equal(v3, "after");
  });

  /** Opens a connected polling session, sends `head(path)` on a raw socket, resets it. */
  async function resetMidRequest(head) {
    const p = await PollingSession.handshake(srv.url);
    await p.connect("/");
    const u = new URL(p.url);
    const sock = net.connect(srv.port, "127.0.0.1");
    sock.on("error", () => {});
    await once(sock, "connect");
    sock.write(head(`${u.pathname}${u.search}`));
    sock.resetAndDestroy();
    await healthy();
  }

  test("a client that resets the connection in the middle of a POST body", async () => {
    await resetMidRequest(
      (path) => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n42["echo",`,
    );
  });

  test("a client that resets a pending long-poll GET", async () => {
    await resetMidRequest((path) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });

  test("a websocket that disappears without a close frame", async () => {
    const sock = await rawTcpWebsocket(srv.port);
    sock.on("error", () => {});
    sock.write(wsFrame('42["broadcast",{"x":1}]'));
    sock.resetAndDestroy();
    await healthy();
  });

  test("garbage that is not HTTP at all", async () => {
    const sock = net.connect(srv.port, "127.0.0.1");
    sock.on("error", () => {});
    sock.on("data", () => {});
    await once(sock, "connect");
    const closed = once(sock, "close", { timeout: 10_000 });
    sock.write(Buffer.from("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n"));
    sock.end();
    await closed;
    await healthy();
  });

  test("a websocket frame with an unknown opcode closes that websocket only", async () => {
    const sock = await rawTcpWebsocket(srv.port);
    sock.on("error", () => {});
    sock.on("data", () => {});
    const closed = once(sock, "close", { timeout: 5_000 });
    sock.write(wsFrame("x", 0x3)); // reserved opcode
    await closed;
    await healthy();
  });
});

test("server process is still alive at the end", () => {
  assert.equal(srv.alive(), true);
});
