// WebTransport against WebSocket in the same Chromium, the same contract server process and
// the same client (socket.io-client 4.8), one run:
//
//   node bench/webtransport/run.mjs   (scripts/bench-webtransport.sh builds the server first)
//
// Starts the contract server with WebTransport (WT_PORT = its PORT, a 10-day ECDSA
// certificate made with openssl, trusted by the page through serverCertificateHashes), a
// static server (/ = bench/browser: the page and page.js of the browser bench, /sioc/ =
// socket.io-client's dist) and one headless Chromium. Then REPEATS rounds, alternating which
// transport goes first; each (round, transport) gets a fresh page that warms up and measures,
// with bench/browser/page.js:
//   flood   FLOOD_N `tp` events asked with `flood` (floods of FLOOD_CHUNK, FLOOD_WINDOW in
//           flight) -> messages/s received and decoded by the page
//   acks    sequential emitWithAck("echo", i), ACK_N acks or ACK_SECONDS -> round trips/s,
//           and the round trip's median and 99th percentile
// Prints a table of medians and writes it, with every round, to BENCH_RESULTS (default
// bench/webtransport/RESULTS.md). Exit status 1 if a measurement failed or the page logged an
// error, 2 if the bench could not run.
//
// Env: REPEATS (3), FLOOD_N (20000), FLOOD_CHUNK (4000), FLOOD_WINDOW (2), ACK_N (20000),
// ACK_SECONDS (3), TIMEOUT_S (60), SIO_CONTRACT_BIN (target/release/examples/contract, built
// with --features webtransport), CHROMIUM (/usr/bin/chromium), BENCH_RESULTS, BENCH_COMMAND.
import { execFileSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { num, startListening, stopProcess, median, fmtInt, table, mdTable, gitState, setupHead, stopOnSignals } from "../lib/common.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const TESTS = path.join(ROOT, "tests");
const { chromium } = createRequire(path.join(TESTS, "package.json"))("playwright-core");
const env = process.env;
const CFG = {
  repeats: num("REPEATS", 3),
  floodN: num("FLOOD_N", 20_000),
  floodChunk: num("FLOOD_CHUNK", 4_000),
  floodWindow: num("FLOOD_WINDOW", 2),
  ackN: num("ACK_N", 20_000),
  ackSeconds: num("ACK_SECONDS", 3),
  timeoutMs: num("TIMEOUT_S", 60) * 1000,
  serverBin: path.resolve(env.SIO_CONTRACT_BIN || path.join(ROOT, "target", "release", "examples", "contract")),
  chromium: env.CHROMIUM || "/usr/bin/chromium",
  results: path.resolve(env.BENCH_RESULTS || path.join(HERE, "RESULTS.md")),
};
const SIOC = path.join(TESTS, "node_modules", "socket.io-client");
const SIOC_VERSION = JSON.parse(readFileSync(path.join(SIOC, "package.json"), "utf8")).version;
const TRANSPORTS = ["websocket", "webtransport"];
const log = (...a) => console.error("[bench-webtransport]", ...a);

/** A certificate Chromium takes by its hash, and that hash (hex). */
function certificate(dir) {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert]
      .concat(["-days", "10", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]),
    { stdio: "ignore" },
  );
  return { cert, key, hash: createHash("sha256").update(new X509Certificate(readFileSync(cert)).raw).digest("hex") };
}

async function startStatic() {
  const roots = [
    ["/sioc/", path.join(SIOC, "dist")],
    ["/", path.join(ROOT, "bench", "browser")],
  ];
  const srv = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const [prefix, dir] = roots.find(([p]) => url.pathname.startsWith(p));
    const rel = path.normalize(url.pathname.slice(prefix.length) || "index.html").replace(/^(\.\.[/\\])+/, "");
    try {
      const body = await readFile(path.join(dir, rel));
      const type = rel.endsWith(".js") ? "text/javascript" : "text/html";
      res.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

/** `fn(arg)` in the page, with a deadline. */
async function timed(page, what, fn, arg) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result in ${CFG.timeoutMs / 1000} s`)), CFG.timeoutMs);
  });
  try {
    return await Promise.race([page.evaluate(fn, arg), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const started = new Date();
  const dir = mkdtempSync(path.join(tmpdir(), "sio-bench-wt-"));
  const { cert, key, hash } = certificate(dir);
  const server = await startListening("contract server", CFG.serverBin, [], {
    env: { WT_CERT: cert, WT_KEY: key },
    portEnv: ["WT_PORT"],
  });
  const statik = await startStatic();
  const browser = await chromium.launch({
    executablePath: CFG.chromium,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
  });
  const cleanup = async () => {
    await browser.close().catch(() => {});
    await statik.close();
    await stopProcess(server);
    rmSync(dir, { recursive: true, force: true });
  };
  stopOnSignals(log, cleanup);
  const url = `http://127.0.0.1:${server.port}`;
  const problems = [];
  let upstream = 0; // socket.io-client's unhandled rejections on its own disconnect()
  const rounds = []; // {round, transport, flood, acks}
  let failed = false;
  try {
    for (let round = 1; round <= CFG.repeats; round++) {
      const order = round % 2 ? TRANSPORTS : [...TRANSPORTS].reverse();
      for (const transport of order) {
        const page = await browser.newPage();
        page.on("pageerror", (e) => {
          // socket.io-client's own: its WebTransport transport pipes into the stream and
          // does not catch the rejection when it closes the session itself (disconnect()).
          if (String(e) === "WebTransportError: The session is closed.") upstream++;
          else problems.push(`${transport} round ${round}: ${e}`);
        });
        page.on("console", (m) => m.type() === "error" && problems.push(`${transport} round ${round}: ${m.text()}`));
        await page.goto(`${statik.url}/index.html`);
        await page.evaluate(async (hash) => {
          window.bench = await import("/page.js");
          await window.bench.load("theirs");
          const value = new Uint8Array(hash.match(/../g).map((h) => parseInt(h, 16)));
          window.bench.options({ transportOptions: { webtransport: { serverCertificateHashes: [{ algorithm: "sha-256", value }] } } });
        }, hash);
        const t = [transport];
        // Warm-up, not counted.
        await timed(page, "warm-up", ({ url, t }) => window.bench.flood(url, t, 2000, 1000, 2), { url, t });
        await timed(page, "warm-up", ({ url, t }) => window.bench.acks(url, t, 1, 300), { url, t });
        const flood = await timed(page, "flood", ({ url, t, c }) => window.bench.flood(url, t, c.floodN, c.floodChunk, c.floodWindow), { url, t, c: CFG });
        const acks = await timed(page, "acks", ({ url, t, c }) => window.bench.acks(url, t, c.ackSeconds, c.ackN), { url, t, c: CFG });
        await page.close();
        const ok = flood.count === flood.n && flood.sumOk && !flood.bad && !acks.bad && flood.transport === transport && acks.transport === transport;
        if (!ok) {
          failed = true;
          problems.push(`${transport} round ${round}: wrong result ${JSON.stringify({ flood, acks })}`);
        }
        const r = { round, transport, floodRate: (flood.n * 1000) / flood.ms, ackRate: (acks.n * 1000) / acks.ms, p50: acks.p50, p99: acks.p99 };
        rounds.push(r);
        log(`round ${round} ${transport}: flood ${fmtInt(r.floodRate)} msg/s, acks ${fmtInt(r.ackRate)}/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`);
      }
    }
  } catch (e) {
    log(String(e.stack || e));
    failed = true;
  } finally {
    await cleanup();
  }
  const of = (t, k) => median(rounds.filter((r) => r.transport === t).map((r) => r[k]));
  const ms = (x) => (Number.isFinite(x) ? x.toFixed(2) : "—");
  const head = ["transport", "flood, messages/s", "acks, round trips/s", "ack p50, ms", "ack p99, ms"];
  const rows = TRANSPORTS.map((t) => [t, fmtInt(of(t, "floodRate")), fmtInt(of(t, "ackRate")), ms(of(t, "p50")), ms(of(t, "p99"))]);
  console.log(table(head, rows, [1, 2, 3, 4]));
  const all = rounds.map((r) => [r.round, r.transport, fmtInt(r.floodRate), fmtInt(r.ackRate), ms(r.p50), ms(r.p99)]);
  const md = `# WebTransport and WebSocket in Chromium

socket.io-client ${SIOC_VERSION} in headless Chromium against the sio contract server (one
process, WebTransport on the UDP port of its HTTP port's number), the same page code for both
transports (\`bench/browser/page.js\`). Medians of ${CFG.repeats} rounds; each round and transport
on a fresh page, after a warm-up. Written by \`bench/webtransport/run.mjs\`.

${setupHead(started, gitState(ROOT, ["server", "protocol"]))}
| command | \`${env.BENCH_COMMAND || "node bench/webtransport/run.mjs"}\` |
| flood | ${fmtInt(CFG.floodN)} events of \`{"i":n,"p":"xxxxxxxx"}\`, floods of ${fmtInt(CFG.floodChunk)}, ${CFG.floodWindow} in flight |
| acks | sequential \`emitWithAck("echo", i)\`, ${fmtInt(CFG.ackN)} or ${CFG.ackSeconds} s |

${mdTable(head, rows, [1, 2, 3, 4])}

Every round:

${mdTable(["round", "transport", "flood, messages/s", "acks/s", "p50, ms", "p99, ms"], all, [0, 2, 3, 4, 5])}
${problems.length ? `\nProblems:\n\n${problems.map((p) => `- ${p}`).join("\n")}\n` : ""}
${upstream ? `\nThe WebTransport pages logged "WebTransportError: The session is closed." ${upstream} times, each when the page's \`disconnect()\` closed the session: socket.io-client's WebTransport transport does not catch the rejection of its stream pipe then (its bug, not a failure of a measurement).\n` : ""}`;
  writeFileSync(CFG.results, md);
  log(`wrote ${path.relative(ROOT, CFG.results)}`);
  if (problems.length) log(problems.join("\n"));
  process.exit(failed || problems.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
