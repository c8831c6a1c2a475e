// Browser benchmark: messages per second received and decoded by a page, our wasm client
// (sio-client) against socket.io-client 4.8, same contract server, same Chromium, one run.
//
//   node bench/browser/run.mjs          (scripts/bench-browser.sh builds everything first)
//
// Starts the contract server (target/release/examples/contract, PORT = a free port on
// 127.0.0.1), a static server on 127.0.0.1 (/ = bench/browser, /pkg/ = the client bundle,
// /sioc/ = socket.io-client's dist) and one headless Chromium (playwright-core). Then, REPEATS
// rounds, alternating which client goes first; each (round, client) gets a fresh page that
// loads only that client, warms it up (a small flood and a few acks, not counted) and measures:
//   flood ws    transports ["websocket"]: FLOOD_N `tp` events asked with `flood` -> messages/s
//               from the first emit of `flood` to the last `flood-done` (the listener sums
//               d.i and checks the order)
//   acks ws     transports ["websocket"]: sequential emitWithAck("echo", i), ACK_N acks or
//               ACK_SECONDS, whichever first -> round trips/s
//   flood poll  transports ["polling"]: `flood` POLL_FLOOD_N (POLLING=0 skips it)
// and, last in each round, a baseline page with no client at all: a bare WebSocket speaking
// the wire by hand (JSON.parse of each event kept), for flood ws and acks ws (BASELINE=0
// skips it): what this Chromium and server allow, whatever the client.
// Prints a table of medians (ours, socket.io-client, ratio, baseline) and writes it with the
// per-round numbers, the machine, the Chromium version and the commands to BENCH_RESULTS
// (default bench/browser/RESULTS.md). Page errors and console errors/warnings are reported,
// not hidden. Exit status 1 if a measurement failed (timeout, wrong count/order, page error).
//
// The flood is asked as floods of FLOOD_CHUNK (4000) events, FLOOD_WINDOW (2) in flight: the
// contract server disconnects a session with 10,000 queued packets, so one `flood 200000`
// never arrives (see page.js). FLOOD_N is 20,000 by default, not 200,000: on the 2-core VM this
// was written on, Chromium delivers about 5,000 websocket messages/s to a page (a bare
// WebSocket as well as both clients), so 200,000 would take ~40 s per page and round.
//
// Env: REPEATS (3), FLOOD_N (20000), FLOOD_CHUNK (4000), FLOOD_WINDOW (2), ACK_N (20000),
// ACK_SECONDS (3), POLLING (1), POLL_FLOOD_N (50000), BASELINE (1), TIMEOUT_S per
// measurement (30), WAIT_IDLE_S (0: wait up to that long for an idle machine before starting),
// SIO_CLIENT_PKG (client-wasm/pkg),
// SIO_CONTRACT_BIN (target/release/examples/contract), CHROMIUM (/usr/bin/chromium),
// BENCH_RESULTS (bench/browser/RESULTS.md), BENCH_COMMAND (the command line to record),
// PROFILE (a directory: a CPU profile of each client's page during each scenario of round 1,
// DIR/<client>-<scenario>.cpuprofile, and its top functions by self time in the log).
import { createServer } from "node:http";
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { num, startListening, stopProcess, machineCpu, busyPct, median, fmtInt, table, mdTable, gitState, setupHead, stopOnSignals } from "../lib/common.mjs";

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
  polling: env.POLLING !== "0",
  pollFloodN: num("POLL_FLOOD_N", 50_000),
  baseline: env.BASELINE !== "0",
  timeoutMs: num("TIMEOUT_S", 30) * 1000,
  profile: env.PROFILE || "",
  pkg: path.resolve(env.SIO_CLIENT_PKG || path.join(ROOT, "client-wasm", "pkg")),
  serverBin: path.resolve(env.SIO_CONTRACT_BIN || path.join(ROOT, "target", "release", "examples", "contract")),
  chromium: env.CHROMIUM || "/usr/bin/chromium",
  results: path.resolve(env.BENCH_RESULTS || path.join(HERE, "RESULTS.md")),
};
const SIOC = path.join(TESTS, "node_modules", "socket.io-client");
const NAMES = { ours: "sio-client (wasm)", theirs: `socket.io-client ${pkgVersion(SIOC)}`, bare: "bare WebSocket (no client)" };
const WARMUP = { flood: 2_000, acks: 300 };
const log = (...a) => console.error("[bench-browser]", ...a);
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

function pkgVersion(dir) {
  return JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).version;
}

// ---------- the contract server (a child process, stopped by its PID) ----------

let server = null; // startListening's {pid, port, exited, exitInfo(), output()}
async function startServer() {
  if (!existsSync(CFG.serverBin)) {
    throw new Error(`no contract server at ${CFG.serverBin}: cargo build --release -p sio-server --example contract`);
  }
  server = await startListening("contract server", CFG.serverBin, []);
  return server;
}

const stopServer = () => stopProcess(server);

/** Machine-wide CPU jiffies {busy, total} from /proc/stat. */

/** CPU seconds (user + system) the server has used so far, from /proc. */
function serverCpu() {
  try {
    const f = readFileSync(`/proc/${server.pid}/stat`, "utf8");
    const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

// ---------- the static server (in this process) ----------

const ROOTS = [
  ["/pkg/", CFG.pkg],
  ["/sioc/", path.join(SIOC, "dist")],
  ["/", HERE],
];
const TYPES = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };
let statik = null;
async function startStatic() {
  const srv = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const [prefix, dir] = ROOTS.find(([p]) => url.pathname.startsWith(p));
    const rel = path.normalize(url.pathname.slice(prefix.length) || "index.html").replace(/^(\.\.[/\\])+/, "");
    try {
      const body = await readFile(path.join(dir, rel));
      res.writeHead(200, { "content-type": TYPES[path.extname(rel)] || "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  statik = { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
  return statik;
}

// ---------- the browser ----------

let browser = null;
const pageProblems = []; // {client, round, during, kind, text}
let current = "page load"; // what the page is doing, for the problems it reports

async function openPage(client, round) {
  const page = await browser.newPage();
  const note = (kind, text) => pageProblems.push({ client, round, during: current, kind, text: String(text).slice(0, 600) });
  // An error's message and its first frames (a wasm trap shows as wasm-function[...] frames).
  page.on("pageerror", (e) => note("pageerror", String(e.stack || e).split("\n").slice(0, 4).map((l) => l.trim()).join(" | ")));
  page.on("console", (m) => ["error", "warning"].includes(m.type()) && note(`console.${m.type()}`, m.text()));
  page.on("crash", () => note("crash", "the page crashed"));
  page.on("response", (r) => r.status() >= 400 && note("http", `${r.status()} ${r.url()}`));
  current = "page load";
  await page.goto(`${statik.url}/index.html`);
  const loadMs = await page.evaluate(async (which) => {
    window.bench = await import("/page.js");
    return which === "bare" ? undefined : window.bench.load(which);
  }, client);
  return { page, loadMs };
}

// ---------- PROFILE=DIR: where the page's CPU goes (round 1 only; it slows that round) ----------

async function startProfile(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  await cdp.send("Profiler.start");
  return cdp;
}

/** Writes DIR/NAME.cpuprofile (Chrome DevTools opens it) and logs the functions with the
 *  most self time. */
async function stopProfile(cdp, name) {
  const { profile } = await cdp.send("Profiler.stop");
  await cdp.detach().catch(() => {});
  mkdirSync(CFG.profile, { recursive: true });
  writeFileSync(path.join(CFG.profile, `${name}.cpuprofile`), JSON.stringify(profile));
  const hits = new Map(profile.nodes.map((n) => [n.id, 0]));
  for (const id of profile.samples) hits.set(id, hits.get(id) + 1);
  const self = new Map();
  for (const n of profile.nodes) {
    const f = n.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${path.basename(f.url || "")}${f.url ? ":" + (f.lineNumber + 1) : ""}`;
    self.set(key, (self.get(key) || 0) + hits.get(n.id));
  }
  const total = profile.samples.length || 1;
  const top = [...self].sort((x, y) => y[1] - x[1]).slice(0, 15);
  log(`profile ${name} (${total} samples):\n` + top.map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join("\n"));
}

/** Runs `fn` in the page with a deadline; on timeout reports how far the page got and
 *  ends the measurement in the page (bench.abort()). */
/** CPU seconds used so far by Chromium's renderer processes (descendants of this process
 *  with --type=renderer; one page is open at a time, so that is the page's renderer). */
function rendererCpu() {
  const procs = new Map(); // pid -> {ppid, cpu, renderer}
  let names;
  try {
    names = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return NaN;
  }
  for (const n of names) {
    try {
      const st = readFileSync(`/proc/${n}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      const cmd = readFileSync(`/proc/${n}/cmdline`, "utf8");
      procs.set(Number(n), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100, renderer: cmd.includes("--type=renderer") });
    } catch {}
  }
  const mine = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 20; p = procs.get(p)?.ppid ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  let sum = 0;
  for (const [pid, p] of procs) if (p.renderer && mine(pid)) sum += p.cpu;
  return sum;
}

async function measure(page, what, fn, arg) {
  current = what;
  const rcpu0 = rendererCpu();
  const cpu0 = serverCpu();
  const t0 = performance.now();
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), CFG.timeoutMs)));
  const res = await Promise.race([page.evaluate(fn, arg).catch((e) => ({ error: String(e.message || e).split("\n")[0] })), timeout]);
  clearTimeout(timer);
  const wall = (performance.now() - t0) / 1000;
  const srvCpu = (serverCpu() - cpu0) / wall;
  if (res === "timeout") {
    const st = await Promise.race([page.evaluate(() => window.bench.state).catch(() => null), delay(2000)]);
    current = `${what} (aborted after its timeout)`;
    await Promise.race([page.evaluate(() => window.bench.abort()).catch(() => {}), delay(2000)]);
    return { error: `${what}: no result after ${CFG.timeoutMs / 1000} s (page state ${JSON.stringify(st)})`, srvCpu };
  }
  current = `after ${what}`;
  return { ...res, srvCpu, rendererS: rendererCpu() - rcpu0 };
}

// Who runs in a page: the two clients, and the bare-WebSocket baseline (BASELINE=0 skips it).
const WHO = ["ours", "theirs", ...(CFG.baseline ? ["bare"] : [])];

// What each page measures. `fn(who)`: the page function and its arguments.
const floodCheck = (n, transport) => (r) =>
  r.count !== n || r.floodsDone !== r.floods || !r.sumOk || r.bad || r.disconnect
    ? floodProblem(r, n)
    : r.transport !== transport ? `transport ${r.transport}` : null;
const ackCheck = (r) => (r.bad ? `${r.bad} acks with a wrong value` : r.n === 0 ? "no ack" : r.transport !== "websocket" ? `transport ${r.transport}` : null);
const SCENARIOS = [
  {
    key: "flood-ws",
    label: () => `flood ws ${fmtInt(CFG.floodN)}, msg/s`,
    call: (who, url, n = CFG.floodN) =>
      who === "bare"
        ? [([u, n, c, w]) => window.bench.rawFlood(u, n, c, w), [url, n, CFG.floodChunk, CFG.floodWindow]]
        : [([u, n, c, w]) => window.bench.flood(u, ["websocket"], n, c, w), [url, n, CFG.floodChunk, CFG.floodWindow]],
    rate: (r) => r.count / (r.ms / 1000),
    units: (r) => r.count,
    check: (r) => floodCheck(r.n, "websocket")(r),
  },
  {
    key: "acks-ws",
    label: () => `acks ws (sequential echo), /s`,
    call: (who, url, max = CFG.ackN, secs = CFG.ackSeconds) =>
      who === "bare"
        ? [([u, s, m]) => window.bench.rawAcks(u, s, m), [url, secs, max]]
        : [([u, s, m]) => window.bench.acks(u, ["websocket"], s, m), [url, secs, max]],
    rate: (r) => r.n / (r.ms / 1000),
    units: (r) => r.n,
    check: ackCheck,
  },
  {
    key: "flood-poll",
    enabled: () => CFG.polling,
    clientsOnly: true,
    label: () => `flood polling ${fmtInt(CFG.pollFloodN)}, msg/s`,
    call: (who, url, n = CFG.pollFloodN) => [([u, n, c, w]) => window.bench.flood(u, ["polling"], n, c, w), [url, n, CFG.floodChunk, CFG.floodWindow]],
    rate: (r) => r.count / (r.ms / 1000),
    units: (r) => r.count,
    check: (r) => floodCheck(r.n, "polling")(r),
  },
].filter((s) => !s.enabled || s.enabled());

function floodProblem(r, n) {
  return `received ${r.count}/${n} tp, ${r.floodsDone}/${r.floods} flood-done, sum ${r.sumOk ? "ok" : "WRONG"}, ` +
    `${r.bad} out of order/bad${r.disconnect ? `, disconnected: "${r.disconnect}"` : ""}`;
}

// ---------- formatting ----------

const ratio = (a, b) => (Number.isFinite(a / b) ? (a / b).toFixed(2) + "x" : "—");
const fmt2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : "—");


// ---------- main ----------

async function main() {
  for (const f of ["sio_client.js", "sio_client_bg.wasm"]) {
    if (!existsSync(path.join(CFG.pkg, f))) throw new Error(`no ${f} in ${CFG.pkg}: run scripts/build-client.sh`);
  }
  const started = new Date();
  const git = gitState(ROOT, ["client-wasm", "server", "protocol"]);
  // WAIT_IDLE_S: wait up to that long for a second in which the machine is < 15% busy.
  const waitUntil = Date.now() + num("WAIT_IDLE_S", 0) * 1000;
  let busyBefore;
  for (;;) {
    const idle0 = machineCpu();
    await delay(1000);
    busyBefore = busyPct(idle0, machineCpu());
    if (busyBefore <= 15 || Date.now() >= waitUntil) break;
  }
  const load0 = os.loadavg();
  if (busyBefore > 15) log(`warning: the machine is ${fmtInt(busyBefore)}% busy before the bench (load average ${load0.map((l) => l.toFixed(2)).join(" ")}, ${os.cpus().length} cores): other work is running, the numbers will be noisy`);
  const cpuStart = machineCpu();
  await startServer();
  const url = `http://127.0.0.1:${server.port}`;
  await startStatic();
  browser = await chromium.launch({
    executablePath: CFG.chromium,
    headless: true,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
  });
  const chromiumVersion = browser.version();
  log(`server pid ${server.pid} on ${url}, static ${statik.url}, Chromium ${chromiumVersion}`);
  if (CFG.floodWindow * (CFG.floodChunk + 1) >= 10_000) {
    log(`warning: FLOOD_WINDOW × (FLOOD_CHUNK + 1) >= 10,000: the server will close the session (send queue full)`);
  }
  log(`rounds ${CFG.repeats}: ${SCENARIOS.map((s) => s.label()).join("; ")}`);

  const runs = Object.fromEntries(WHO.map((w) => [w, []])); // per who: [{round, loadMs, <scenario key>: result}]
  const failures = [];
  for (let round = 1; round <= CFG.repeats; round++) {
    // Alternate which client goes first; the baseline runs last.
    const order = [...(round % 2 ? ["ours", "theirs"] : ["theirs", "ours"]), ...WHO.filter((w) => w === "bare")];
    for (const who of order) {
      if (stopping()) throw new Error("interrupted");
      const rec = { round };
      runs[who].push(rec);
      let page;
      try {
        const opened = await openPage(who, round);
        page = opened.page;
        rec.loadMs = opened.loadMs;
        // Warm-up (not counted): the same code paths, small.
        for (const [sc, args, what] of [[SCENARIOS[0], [WARMUP.flood], "warm-up flood"], [SCENARIOS[1], [WARMUP.acks, 30], "warm-up acks"]]) {
          const w = await measure(page, what, ...sc.call(who, url, ...args));
          if (w.error || sc.check(w)) throw new Error(`${what}: ${w.error || sc.check(w)}`);
        }
        for (const sc of SCENARIOS) {
          if (sc.clientsOnly && who === "bare") continue;
          const prof = CFG.profile && round === 1 ? await startProfile(page) : null;
          const r = await measure(page, sc.key, ...sc.call(who, url));
          if (prof) await stopProfile(prof, `${who}-${sc.key}`);
          const problem = r.error || sc.check(r);
          rec[sc.key] = r;
          if (problem) {
            r.failed = problem;
            failures.push(`round ${round} ${NAMES[who]} ${sc.key}: ${problem}`);
          }
          log(`round ${round} ${who.padEnd(6)} ${sc.key.padEnd(10)} ${problem ? `FAILED: ${problem}` : `${fmtInt(sc.rate(r))}/s (${fmtInt(r.ms)} ms, renderer cpu ${fmtInt(r.rendererS * 1000)} ms, server cpu ${fmtInt(r.srvCpu * 100)}%)`}`);
        }
      } catch (e) {
        const msg = String(e.message || e).split("\n")[0]; // Playwright appends the browser's log
        failures.push(`round ${round} ${NAMES[who]}: ${msg}`);
        log(`round ${round} ${who} FAILED: ${msg}`);
      } finally {
        current = "page close";
        await page?.close().catch(() => {});
      }
      if (server.exitInfo()) throw new Error(`the contract server died: ${JSON.stringify(server.exitInfo())}\n${server.output()}`);
    }
  }

  const load1 = os.loadavg();
  const busyDuring = busyPct(cpuStart, machineCpu());
  // ----- report -----
  const good = (who, key) => (runs[who] || []).map((r) => r[key]).filter((r) => r && !r.failed && !r.error);
  const perRound = (who, key, rate) => (runs[who] || []).map((r) => (r[key] && !r[key].failed ? fmtInt(rate(r[key])) : "FAIL")).join(" ");
  const rows = [];
  for (const sc of SCENARIOS) {
    const med = (who) => median(good(who, sc.key).map(sc.rate));
    const cpu = (who) => fmtInt(median(good(who, sc.key).map((r) => r.srvCpu * 100)));
    const bare = CFG.baseline && !sc.clientsOnly;
    rows.push([
      sc.label(),
      fmtInt(med("ours")),
      fmtInt(med("theirs")),
      ratio(med("ours"), med("theirs")),
      bare ? fmtInt(med("bare")) : "",
      `${cpu("ours")} / ${cpu("theirs")}`,
      `${good("ours", sc.key).length}/${CFG.repeats}, ${good("theirs", sc.key).length}/${CFG.repeats}`,
      perRound("ours", sc.key, sc.rate),
      perRound("theirs", sc.key, sc.rate),
    ]);
  }
  // CPU cost per message / per ack of the page's renderer process (JS, wasm, GC, IPC).
  for (const sc of SCENARIOS) {
    const us = (r) => (r.rendererS * 1e6) / sc.units(r);
    const med = (who) => median(good(who, sc.key).map(us));
    rows.push([
      `  ${sc.key}: renderer CPU µs per ${sc.key.startsWith("acks") ? "ack" : "msg"}`,
      fmt2(med("ours")),
      fmt2(med("theirs")),
      ratio(med("ours"), med("theirs")),
      CFG.baseline && !sc.clientsOnly ? fmt2(med("bare")) : "",
      "",
      "",
      (runs.ours || []).map((r) => (r[sc.key] && !r[sc.key].failed ? fmt2(us(r[sc.key])) : "FAIL")).join(" "),
      (runs.theirs || []).map((r) => (r[sc.key] && !r[sc.key].failed ? fmt2(us(r[sc.key])) : "FAIL")).join(" "),
    ]);
  }
  const loadMed = (who) => median(runs[who].map((r) => r.loadMs));
  rows.push(["page load: import (+ instantiate), ms", fmtInt(loadMed("ours")), fmtInt(loadMed("theirs")), ratio(loadMed("ours"), loadMed("theirs")), "", "", "",
    runs.ours.map((r) => fmtInt(r.loadMs)).join(" "), runs.theirs.map((r) => fmtInt(r.loadMs)).join(" ")]);
  const head = ["median of rounds", "ours", "socket.io-client", "ours/theirs", "bare WebSocket", "srv cpu% o/t", "ok runs o, t", "ours per round", "theirs per round"];
  const numeric = [1, 2, 3, 4, 5];

  console.log(table(head, rows, numeric));
  const problems = pageProblems.map((p) => `round ${p.round} ${NAMES[p.client]}, during ${p.during}, ${p.kind}: ${p.text}`);
  if (failures.length) console.log(`\nFAILED measurements:\n  ${failures.join("\n  ")}`);
  if (problems.length) console.log(`\npage errors / console errors and warnings:\n  ${problems.join("\n  ")}`);

  const md = `# Browser client benchmark: sio-client (wasm) vs socket.io-client

Messages per second received and decoded by a page, our client against
${NAMES.theirs}, same contract server process, same Chromium instance, one run.
Written by \`scripts/bench-browser.sh\` (\`bench/browser/run.mjs\`); every run overwrites it.

## Setup

${setupHead(started, git)}
| other load | machine ${fmtInt(busyBefore)}% busy in the second before the bench; ${fmtInt(busyDuring)}% during it (this bench included); load average ${load0.map((l) => l.toFixed(2)).join(" ")} at the start, ${load1.map((l) => l.toFixed(2)).join(" ")} at the end |
| Chromium | ${chromiumVersion} (${CFG.chromium}, headless, --no-sandbox --disable-gpu --disable-background-networking) |
| node | ${process.version}, playwright-core ${pkgVersion(path.join(TESTS, "node_modules", "playwright-core"))} |
| server | our contract server, \`${path.relative(ROOT, CFG.serverBin)}\` (release), 127.0.0.1 |
| ours | \`${path.relative(ROOT, CFG.pkg) || "."}/sio_client.js\` + \`sio_client_bg.wasm\` (${fmtInt(sizeOf("sio_client_bg.wasm"))} + ${fmtInt(sizeOf("sio_client.js"))} B raw), \`import {io} from "/pkg/sio_client.js"\` (the .wasm instantiated on import) |
| theirs | \`socket.io-client/dist/socket.io.esm.min.js\` ${pkgVersion(SIOC)}, \`import {io} from "/sioc/socket.io.esm.min.js"\` |
| parameters | REPEATS=${CFG.repeats} FLOOD_N=${CFG.floodN} FLOOD_CHUNK=${CFG.floodChunk} FLOOD_WINDOW=${CFG.floodWindow} ACK_N=${CFG.ackN} ACK_SECONDS=${CFG.ackSeconds} POLLING=${CFG.polling ? 1 : 0} POLL_FLOOD_N=${CFG.pollFloodN} |

Command: \`${env.BENCH_COMMAND || "node bench/browser/run.mjs"}\`

Each round opens a fresh page per client (alternating which goes first), loads only that
client, warms it up (flood ${fmtInt(WARMUP.flood)} + ${WARMUP.acks} acks, not counted), then:
- **flood**: the page receives N \`tp\` events \`{"i":k,"p":"xxxxxxxx"}\`, asked as
  \`socket.emit("flood", ${fmtInt(CFG.floodChunk)})\` × N/${fmtInt(CFG.floodChunk)}, ${CFG.floodWindow} floods in flight (the next is asked at each
  \`flood-done\`). Rate = N / (time from the first emit to the last \`flood-done\`). The
  listener sums \`d.i\`, checks the order and \`d.p\`; a run counts only if all N arrived in order.
  Why chunks: the contract server closes a session once 10,000 packets are queued for it
  (\`max_buffered_packets\`, server/src/config.rs) and a \`flood\` handler queues all of its
  packets at once, so \`flood N\` with N ≥ 10,000 ends in a disconnect ("transport close") with
  nothing received, whichever client (checked with socket.io-client in node too).
- **acks**: sequential \`await socket.emitWithAck("echo", i)\` (value checked) for ${fmtInt(CFG.ackN)} acks or
  ${CFG.ackSeconds} s, whichever first. Rate = acks / elapsed.
- **bare WebSocket**: a page without any client library, speaking Engine.IO/Socket.IO by
  hand over \`new WebSocket()\` (each event still goes through \`JSON.parse\`): the ceiling
  this Chromium and server allow for the websocket rows, whatever the client.
- **renderer CPU µs per msg / per ack**: CPU time (user + system, /proc, 10 ms ticks) of the
  page's renderer process during the measurement (incl. connect/disconnect: JS, wasm, GC,
  event dispatch, IPC) divided by the messages or acks: what the client costs the page even
  when the rate is bound by something else (the browser's WebSocket delivery, the server).
- **srv cpu%**: CPU the server process used during the measurement (incl. connect), % of one core.
- **page load**: from \`import()\` of the client to a usable \`io\` (ours includes instantiating the .wasm:
  wasm fetch + compile), fresh browser context, localhost.

## Results (medians of ${CFG.repeats} rounds)

${mdTable(head, rows, numeric)}
${failures.length ? `\n**Failed measurements**:\n\n${failures.map((f) => `- ${f}`).join("\n")}\n` : ""}${problems.length ? `\n**Page errors / console errors and warnings**:\n\n${problems.map((p) => `- ${p}`).join("\n")}\n` : "\nNo page errors, console errors or warnings.\n"}`;
  if (stopping()) throw new Error("interrupted");
  writeFileSync(CFG.results, md);
  log(`wrote ${CFG.results}`);
  return failures.length || pageProblems.some((p) => p.kind !== "console.warning") ? 1 : 0;
}

function sizeOf(f) {
  try {
    return readFileSync(path.join(CFG.pkg, f)).length;
  } catch {
    return NaN;
  }
}

async function cleanup() {
  await browser?.close().catch(() => {});
  await statik?.close().catch(() => {});
  await stopServer();
}

const stopping = stopOnSignals(log, cleanup);
process.once("exit", () => {
  // Last resort (e.g. an uncaught exception): never leave the server running.
  if (server && !server.exitInfo()) {
    try {
      process.kill(server.pid, "SIGKILL");
    } catch {}
  }
});

let code = 2;
try {
  code = await main();
} catch (e) {
  log(`error: ${e.stack || e}`);
} finally {
  await cleanup();
}
process.exit(code);
