// Cluster benchmark (issue 6): a two-node fanout through Redis, our contract server (sio, with
// the sio-cluster Redis adapter) side by side with Node `socket.io` 4.8 + `@socket.io/redis-adapter` 8,
// both on the same redis-server, in one run.
//
//   node bench/cluster/run.mjs        (scripts/bench-cluster.sh builds the server first)
//
// REDIS_SHARDED=1: the sharded mode on every node (SPUBLISH; Node: createShardedAdapter),
// results in RESULTS-sharded.md. REDIS_STREAMS=1: the Redis Streams mode on every node (Node:
// `@socket.io/redis-streams-adapter` 0.3), every node started with REDIS_STREAMS=1 and
// RECOVERY_MS=120000 (connection state recovery on, as that mode is run: each broadcast is an
// XADD to the stream `socket.io`, read by every node with a blocking XREAD, and each event
// carries its entry id as offset), results in RESULTS-streams.md. Not both at once.
//
// Starts one redis-server (tests/lib/redis.mjs) on a free port of 127.0.0.1. Then REPEATS rounds,
// alternating which implementation goes first; per (round, implementation):
//   - two nodes A and B of the contract server with REDIS_URL and PORT (free ports, 127.0.0.1):
//     sio = SIO_CONTRACT_BIN (default target/bench-cluster/contract, a copy of the release build
//     with the redis feature), node = `node tests/reference/contract-server.mjs`;
//   - CLIENTS receivers (socket.io-client from tests/node_modules, transports ["websocket"];
//     CLIENT=raw: a minimal hand-written client on the `ws` package, much cheaper, for when
//     socket.io-client makes the run client-bound), alternately on A and B (half each), plus
//     one sender on A; all connect events awaited;
//   - the sender emits `broadcast` {t, i, ph, p} (CONTRACT.md: `io.emit("bcast", D)`, so every
//     socket of the namespace on both nodes gets it; the sender's own copy is not counted).
//     t = performance.now() of this process at the send (senders and receivers share the clock),
//     p = PAYLOAD bytes of "x". First WARMUP messages, fully drained (not counted), then
//     MESSAGES measured ones. Flow control: at most WINDOW messages not yet received by every
//     receiver; the run waits for all deliveries, or fails after STALL_S without progress.
//   - measured: deliveries/s = measured deliveries / (first measured send -> last delivery);
//     latency (receive time - t) percentiles separately for receivers on the sender's node A
//     ("local") and on node B ("cross-node", through Redis); CPU time of node A, node B
//     (sum over /proc/PID/task/*/schedstat, ns) and redis-server over the same interval,
//     per delivery; this client process's CPU (process.cpuUsage) as % of one core; the Redis
//     commands per measured message (INFO commandstats after a CONFIG RESETSTAT).
//   - the nodes are stopped by PID (SIGTERM, SIGKILL after 5 s); redis-server is flushed.
// Prints a table of medians (stdout; progress on stderr) and writes BENCH_RESULTS
// (default bench/cluster/RESULTS.md). Exit status 0 all rounds ok, 1 a round failed, 2 no run.
//
// Cores (PIN=1, the default, needs taskset): the two nodes and redis-server share core 0,
// this client process runs on core 1 (so each sio node's tokio runtime has one worker, and
// the client never takes server CPU). PIN=0: everything floats over all cores.
//
// Env: CLIENTS (200), MESSAGES (1000), WARMUP (50), WINDOW (8), PAYLOAD (100), REPEATS (3),
// STALL_S (10), IMPLS ("sio node"), PIN (1), CLIENT (sioc | raw), WAIT_IDLE_S (0: wait up to
// that long for an idle machine, < 15% busy for a second, before the bench and each measurement), SIO_CONTRACT_BIN, BENCH_RESULTS, BENCH_COMMAND,
// BENCH_GIT_STATE (both set by scripts/bench-cluster.sh), REDIS_SERVER (redis-server).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startRedis, REDIS_SERVER } from "../../tests/lib/redis.mjs";
import { num, startListening, stopProcess, machineCpu, busyPct, median, fmtInt, table, mdTable, gitState, setupHead, stopOnSignals } from "../lib/common.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const TESTS = path.join(ROOT, "tests");
const requireT = createRequire(path.join(TESTS, "package.json"));
const { io } = requireT("socket.io-client");
const WebSocket = requireT("ws");

const env = process.env;
const CFG = {
  clients: Math.max(2, num("CLIENTS", 200)),
  messages: Math.max(1, num("MESSAGES", 1000)),
  warmup: num("WARMUP", 50),
  window: Math.max(1, num("WINDOW", 8)),
  payload: num("PAYLOAD", 100),
  repeats: Math.max(1, num("REPEATS", 3)),
  stallMs: num("STALL_S", 10) * 1000,
  impls: (env.IMPLS || "sio node").split(/\s+/).filter(Boolean),
  pin: env.PIN !== "0",
  client: env.CLIENT === "raw" ? "raw" : "sioc",
  sioBin: path.resolve(env.SIO_CONTRACT_BIN || path.join(ROOT, "target", "bench-cluster", "contract")),
  sharded: env.REDIS_SHARDED === "1",
  streams: env.REDIS_STREAMS === "1",
};
CFG.results = path.resolve(env.BENCH_RESULTS || path.join(HERE, CFG.streams ? "RESULTS-streams.md" : CFG.sharded ? "RESULTS-sharded.md" : "RESULTS.md"));
// What differs between the adapter modes: the Node adapter package, the Redis command that
// carries a broadcast to the other node, and the env of every node (besides REDIS_URL, PORT).
const MODE = CFG.streams
  ? { pkg: "@socket.io/redis-streams-adapter", cmd: "XADD", env: { REDIS_STREAMS: "1", RECOVERY_MS: "120000" } }
  : { pkg: "@socket.io/redis-adapter", cmd: CFG.sharded ? "SPUBLISH" : "PUBLISH", env: {} };
const NAMES = { sio: "sio", node: "node socket.io" };
const CONNECT_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 30_000;
const log = (...a) => console.error("[bench-cluster]", ...a);
const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "");

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(TESTS, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

// ---------- processes ----------

const live = new Set(); // {pid, child} of the nodes we started, killed on exit

/** Start one contract-server node; resolves when its port accepts connections. */
async function startNode(impl, name, redisUrl) {
  const [cmd, args] = impl === "sio" ? [CFG.sioBin, []] : [process.execPath, [path.join(TESTS, "reference", "contract-server.mjs")]];
  const [c, a] = CFG.pin ? ["taskset", ["-c", "0", cmd, ...args]] : [cmd, args]; // taskset execs: same PID
  const proc = await startListening(`${impl} node ${name}`, c, a, { cwd: TESTS, env: { ...MODE.env, REDIS_URL: redisUrl }, timeoutMs: START_TIMEOUT_MS });
  const node = { ...proc, impl, name, url: `http://127.0.0.1:${proc.port}` };
  live.add(node);
  return node;
}

async function stopNode(node) {
  await stopProcess(node);
  live.delete(node);
}

/** CPU time (s) a process has used, all its threads: /proc/PID/task/T/schedstat (ns), else /proc/PID/stat (ticks). */
function procCpu(pid) {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
    }
    if (Number.isFinite(ns)) return ns / 1e9;
  } catch {}
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const x = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(x[11]) + Number(x[12])) / 100;
  } catch {
    return NaN;
  }
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Machine-wide CPU jiffies {busy, total, steal} from /proc/stat. */

// ---------- one measurement ----------

function connect(url, label) {
  return CFG.client === "raw" ? connectRaw(url, label) : connectSioc(url, label);
}

function connectSioc(url, label) {
  return new Promise((resolve, reject) => {
    const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: CONNECT_TIMEOUT_MS });
    const t = setTimeout(() => (s.close(), reject(new Error(`${label}: no connect within ${CONNECT_TIMEOUT_MS} ms`))), CONNECT_TIMEOUT_MS);
    s.once("connect", () => (clearTimeout(t), resolve(s)));
    s.once("connect_error", (e) => (clearTimeout(t), s.close(), reject(new Error(`${label}: connect_error ${e.message}`))));
  });
}

/** CLIENT=raw: the `ws` package speaking Engine.IO v4 / Socket.IO v5 by hand (namespace "/",
 *  no acks, no binary): open -> "40", ping "2" -> pong "3", events "42[...]" via JSON.parse.
 *  The same {on, emit, close} surface as a socket.io-client socket, for this bench only. */
function connectRaw(url, label) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    const handlers = new Map();
    let closing = false;
    const fire = (ev, ...a) => (handlers.get(ev) || []).forEach((f) => f(...a));
    const sock = {
      on: (ev, f) => (handlers.has(ev) || handlers.set(ev, []), handlers.get(ev).push(f), sock),
      emit: (ev, d) => ws.send(`42${JSON.stringify([ev, d])}`),
      close: () => ((closing = true), ws.close()),
    };
    const t = setTimeout(() => (ws.terminate(), reject(new Error(`${label}: no connect within ${CONNECT_TIMEOUT_MS} ms`))), CONNECT_TIMEOUT_MS);
    ws.on("error", (e) => (clearTimeout(t), reject(new Error(`${label}: ${e.message}`))));
    ws.on("close", () => fire("disconnect", closing ? "io client disconnect" : "transport close"));
    ws.on("message", (data) => {
      const m = data.toString();
      if (m.startsWith("42")) {
        const [ev, d] = JSON.parse(m.slice(2));
        fire(ev, d);
      } else if (m === "2") ws.send("3");
      else if (m[0] === "0") ws.send("40");
      else if (m.startsWith("40")) (clearTimeout(t), resolve(sock));
      else if (m.startsWith("44")) (clearTimeout(t), reject(new Error(`${label}: connect error ${m}`)));
    });
  });
}

/** One Redis command over a fresh connection (inline form); resolves the raw reply text. */
function redisCmd(port, line) {
  return new Promise((resolve) => {
    let buf = "";
    const s = net.connect({ port, host: "127.0.0.1" }, () => s.write(`${line}\r\n`));
    const done = () => (s.destroy(), resolve(buf));
    const t = setTimeout(done, 2_000);
    s.on("data", (d) => {
      buf += d;
      const m = /^\$(\d+)\r\n/.exec(buf);
      if ((m && Buffer.byteLength(buf) >= m[0].length + Number(m[1]) + 2) || /^[+-:].*\r\n/.test(buf)) (clearTimeout(t), done());
    });
    s.on("error", () => (clearTimeout(t), done()));
  });
}
/** Redis commands run since the last CONFIG RESETSTAT: {cmd: calls}. */
async function redisCalls(port) {
  const out = {};
  for (const m of (await redisCmd(port, "INFO commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function runOne(impl, redis, round) {
  const nodes = [];
  const sockets = [];
  try {
    nodes.push(await startNode(impl, "A", redis.url));
    nodes.push(await startNode(impl, "B", redis.url));
    const [A, B] = nodes;
    // Receivers alternate A, B, A, B ...; then the sender on A.
    const receivers = await Promise.all(
      Array.from({ length: CFG.clients }, (_, k) => connect((k % 2 ? B : A).url, `receiver ${k}`).then((s) => ({ s, k, remote: k % 2 === 1 }))),
    );
    sockets.push(...receivers.map((r) => r.s));
    const sender = await connect(A.url, "sender");
    sockets.push(sender);
    let closedEarly = 0;
    for (const s of sockets) s.on("disconnect", (why) => why !== "io client disconnect" && closedEarly++);

    const payload = "x".repeat(CFG.payload);
    const n = CFG.clients;
    // Per phase: counts[i] = receivers that got message i; samples only in the measured phase.
    let phase = null;
    let lastDelivery = 0;
    let progressAt = 0;
    let wake = null;
    const lat = { local: [], remote: [] };
    let late = 0, dup = 0, bad = 0;
    for (const r of receivers) {
      const seen = new Uint8Array(CFG.messages + CFG.warmup);
      r.s.on("bcast", (d) => {
        const now = performance.now();
        if (!d || typeof d !== "object" || typeof d.t !== "number" || d.p?.length !== CFG.payload) return void bad++;
        if (!phase || d.ph !== phase.id) return void late++;
        const i = d.i;
        const key = phase.id === "m" ? CFG.warmup + i : i;
        if (seen[key]) return void dup++;
        seen[key] = 1;
        if (phase.id === "m") (r.remote ? lat.remote : lat.local).push(now - d.t);
        phase.received++;
        lastDelivery = progressAt = now;
        if (++phase.counts[i] === n) {
          phase.complete++;
          if (wake) wake();
        }
      });
    }
    let senderCopies = 0;
    sender.on("bcast", () => senderCopies++);

    // Send `count` messages of phase `id` with the window; resolve when all delivered.
    const runPhase = async (id, count) => {
      phase = { id, counts: new Uint32Array(count), complete: 0, received: 0, sent: 0 };
      progressAt = performance.now();
      let t0 = NaN;
      while (phase.complete < count) {
        while (phase.sent < count && phase.sent - phase.complete < CFG.window) {
          const t = performance.now();
          if (phase.sent === 0) t0 = t;
          sender.emit("broadcast", { t, i: phase.sent, ph: id, p: payload });
          phase.sent++;
        }
        if (phase.complete >= count) break;
        // Wait for the next completed message, or check progress every second.
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 1000);
          wake = () => (clearTimeout(timer), (wake = null), resolve());
        });
        if (performance.now() - progressAt > CFG.stallMs) {
          throw new Error(`${id === "m" ? "measured" : "warm-up"} phase stalled: ${fmtInt(phase.received)} of ${fmtInt(count * n)} deliveries after ${CFG.stallMs / 1000} s without progress (sent ${phase.sent}, complete ${phase.complete}, closed early ${closedEarly})`);
        }
        for (const nd of nodes) if (nd.exitInfo()) throw new Error(`node ${nd.name} died: ${JSON.stringify(nd.exitInfo())}\n${nd.output()}`);
      }
      return t0;
    };

    if (CFG.warmup) await runPhase("w", CFG.warmup);
    await redisCmd(redis.port, "CONFIG RESETSTAT");
    const cpu0 = { A: procCpu(A.pid), B: procCpu(B.pid), redis: procCpu(redis.pid), client: selfCpu(), machine: machineCpu() };
    const t0 = await runPhase("m", CFG.messages);
    const cpu1 = { A: procCpu(A.pid), B: procCpu(B.pid), redis: procCpu(redis.pid), client: selfCpu(), machine: machineCpu() };
    const calls = await redisCalls(redis.port);
    const elapsed = (lastDelivery - t0) / 1000;
    const deliveries = phase.received;
    const res = { impl, round, deliveries, elapsed, closedEarly, late, dup, bad, senderCopies };
    // Redis commands per measured message (minus the INFO that asked).
    res.redisCalls = Object.entries(calls)
      .filter(([c]) => c !== "info" && c !== "config|resetstat")
      .map(([c, k]) => `${c} ${(k / CFG.messages).toFixed(2)}`)
      .join(", ");
    res.rate = deliveries / elapsed;
    for (const side of ["local", "remote"]) {
      const a = Float64Array.from(lat[side]).sort();
      res[side] = { n: a.length, p50: percentile(a, 50), p90: percentile(a, 90), p99: percentile(a, 99), max: a[a.length - 1] };
    }
    const us = (s) => (s * 1e6) / deliveries;
    res.cpuA = us(cpu1.A - cpu0.A);
    res.cpuB = us(cpu1.B - cpu0.B);
    res.cpuNodes = res.cpuA + res.cpuB;
    res.cpuRedis = us(cpu1.redis - cpu0.redis);
    res.redisPerMsg = ((cpu1.redis - cpu0.redis) * 1e6) / CFG.messages;
    res.nodesPct = (100 * (cpu1.A - cpu0.A + cpu1.B - cpu0.B)) / elapsed;
    res.redisPct = (100 * (cpu1.redis - cpu0.redis)) / elapsed;
    res.clientPct = (100 * (cpu1.client - cpu0.client)) / elapsed;
    res.stealPct = (100 * (cpu1.machine.steal - cpu0.machine.steal)) / (cpu1.machine.total - cpu0.machine.total);
    res.busyPct = busyPct(cpu0.machine, cpu1.machine);
    return res;
  } finally {
    for (const s of sockets) s.close();
    for (const nd of nodes) await stopNode(nd).catch(() => {});
  }
}

// ---------- report ----------


// Rows of the result table: [label, value(run), decimals, higher is better?]
const METRICS = [
  ["deliveries/s", (r) => r.rate, 0],
  ["latency local p50, ms", (r) => r.local.p50, 2],
  ["latency local p90, ms", (r) => r.local.p90, 2],
  ["latency local p99, ms", (r) => r.local.p99, 2],
  ["latency cross-node p50, ms", (r) => r.remote.p50, 2],
  ["latency cross-node p90, ms", (r) => r.remote.p90, 2],
  ["latency cross-node p99, ms", (r) => r.remote.p99, 2],
  ["server CPU µs/delivery (A+B)", (r) => r.cpuNodes, 3],
  ["  of which node A (the sender's), µs/delivery", (r) => r.cpuA, 3],
  ["  of which node B, µs/delivery", (r) => r.cpuB, 3],
  ["redis-server CPU µs/delivery", (r) => r.cpuRedis, 3],
  ["redis-server CPU µs/message", (r) => r.redisPerMsg, 1],
  ["nodes + redis CPU, % of one core", (r) => r.nodesPct + r.redisPct, 0],
  ["client CPU, % of one core", (r) => r.clientPct, 0],
  ["machine busy, % of all cores (incl. others)", (r) => r.busyPct, 0],
];

async function main() {
  if (CFG.streams && CFG.sharded) {
    throw Object.assign(new Error("REDIS_STREAMS=1 and REDIS_SHARDED=1 are two different adapter modes: set one of them"), { exit: 2 });
  }
  if (CFG.impls.includes("sio") && !existsSync(CFG.sioBin)) {
    throw Object.assign(new Error(`no ${CFG.sioBin}: run scripts/bench-cluster.sh (builds it) or set SIO_CONTRACT_BIN`), { exit: 2 });
  }
  for (const i of CFG.impls) if (!NAMES[i]) throw Object.assign(new Error(`IMPLS: unknown ${i} (sio, node)`), { exit: 2 });
  if (CFG.pin) {
    try {
      execFileSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)], { stdio: "ignore" });
    } catch (e) {
      throw Object.assign(new Error(`PIN=1 needs taskset and 2 cores (${e.message}); PIN=0 to run unpinned`), { exit: 2 });
    }
  }
  const started = new Date();
  const git = gitState(ROOT, ["server", "protocol"]);
  // WAIT_IDLE_S: wait up to that long for a second in which the machine is < 15% busy
  // (before the bench, and again before each measurement, when no process of ours runs).
  const idleBudget = num("WAIT_IDLE_S", 0) * 1000;
  const waitIdle = async () => {
    const until = Date.now() + idleBudget;
    for (;;) {
      const m0 = machineCpu();
      await delay(1000);
      const b = busyPct(m0, machineCpu());
      if (b <= 15 || Date.now() >= until || stopping()) return b;
    }
  };
  const busyBefore = await waitIdle();
  const load0 = os.loadavg();
  if (busyBefore > 15) log(`warning: the machine is ${fmtInt(busyBefore)}% busy before the bench (load average ${load0.map((l) => l.toFixed(2)).join(" ")}): the numbers will be noisy`);
  const mStart = machineCpu();

  const redis = await startRedis();
  stopRedis = () => redis.stop();
  redisPid = redis.pid;
  if (CFG.pin) execFileSync("taskset", ["-a", "-p", "-c", "0", String(redis.pid)], { stdio: "ignore" });
  const redisVersion = execFileSync(REDIS_SERVER, ["--version"], { encoding: "utf8" }).trim().split(" ").slice(0, 3).join(" ");
  log(`redis-server pid ${redis.pid} on ${redis.url}; ${CFG.clients} receivers (half per node) + 1 sender on node A, ${CFG.messages} messages (+${CFG.warmup} warm-up), window ${CFG.window}, payload ${CFG.payload} B, ${CFG.repeats} rounds, ${CFG.impls.join(" ")}`);

  const runs = Object.fromEntries(CFG.impls.map((i) => [i, []]));
  const failures = [];
  for (let round = 1; round <= CFG.repeats; round++) {
    const order = round % 2 ? CFG.impls : [...CFG.impls].reverse();
    for (const impl of order) {
      if (stopping()) throw new Error("interrupted");
      if (idleBudget) {
        const b = await waitIdle();
        if (b > 15) log(`machine still ${fmtInt(b)}% busy after WAIT_IDLE_S: measuring anyway`);
      }
      try {
        const r = await runOne(impl, redis, round);
        runs[impl].push(r);
        const problems = [r.closedEarly && `${r.closedEarly} closed early`, r.dup && `${r.dup} duplicates`, r.bad && `${r.bad} bad`].filter(Boolean);
        if (problems.length) failures.push(`round ${round} ${impl}: ${problems.join(", ")}`);
        log(`round ${round} ${impl.padEnd(4)} ${fmtInt(r.rate)} deliveries/s in ${fmt(r.elapsed, 2)} s; p50/p99 ms local ${fmt(r.local.p50)}/${fmt(r.local.p99)} cross ${fmt(r.remote.p50)}/${fmt(r.remote.p99)}; CPU µs/delivery A ${fmt(r.cpuA, 3)} B ${fmt(r.cpuB, 3)} redis ${fmt(r.cpuRedis, 3)}; client ${fmtInt(r.clientPct)}%; redis calls/msg ${r.redisCalls}${problems.length ? `; ${problems.join(", ")}` : ""}`);
      } catch (e) {
        failures.push(`round ${round} ${impl}: ${String(e.message).split("\n")[0]}`);
        log(`round ${round} ${impl} FAILED: ${e.message}`);
      }
    }
  }
  await redis.stop();
  stopRedis = redisPid = null;
  const load1 = os.loadavg();
  const busyDuring = busyPct(mStart, machineCpu());
  const steal = median(Object.values(runs).flat().map((r) => r.stealPct));

  // ----- table -----
  const impls = CFG.impls;
  const ratio = impls.length === 2 && impls[0] === "sio" && impls[1] === "node";
  const head = ["median of rounds", ...impls.map((i) => NAMES[i]), ...(ratio ? ["sio/node"] : []), ...impls.map((i) => `${i} per round`)];
  const rows = METRICS.map(([label, f, d]) => {
    const med = impls.map((i) => median(runs[i].map(f)));
    const show = (v) => (d === 0 ? fmtInt(v) : fmt(v, d));
    return [label, ...med.map(show), ...(ratio ? [Number.isFinite(med[0] / med[1]) ? `${(med[0] / med[1]).toFixed(2)}x` : ""] : []), ...impls.map((i) => runs[i].map((r) => show(f(r))).join(" "))];
  });
  rows.push(["ok rounds", ...impls.map((i) => `${runs[i].length}/${CFG.repeats}`), ...(ratio ? [""] : []), ...impls.map(() => "")]);
  const numeric = [...impls.map((_, k) => k + 1), ...(ratio ? [impls.length + 1] : [])];
  console.log(table(head, rows, numeric));
  const warnings = [];
  for (const i of impls) {
    const c = median(runs[i].map((r) => r.clientPct));
    if (c >= 90) warnings.push(`${NAMES[i]}: client CPU ${fmtInt(c)}% of its core (median): client-bound, so its deliveries/s is a lower bound and its latency an upper bound for the servers; CPU per delivery stays comparable`);
    const own = median(runs[i].map((r) => (r.nodesPct + r.redisPct + r.clientPct) / os.cpus().length));
    const busy = median(runs[i].map((r) => r.busyPct));
    if (busy - own > 15) warnings.push(`${NAMES[i]}: the machine was ${fmtInt(busy)}% busy, this bench ${fmtInt(own)}%: other work shared the cores, its numbers are noisy`);
  }
  if (warnings.length) console.log(`\n${warnings.map((w) => `! ${w}`).join("\n")}`);
  if (failures.length) console.log(`\nFAILED / problems:\n  ${failures.join("\n  ")}`);

  const sioc = pkgVersion("socket.io-client");
  const md = `# Cluster benchmark: two-node fanout through Redis, sio vs Node socket.io

Deliveries per second, latency on the sender's node and across nodes, and server CPU per
delivery, for a broadcast fanned out by two nodes that share one Redis: our contract server
(the \`sio-cluster\` Redis adapter${CFG.streams ? ", Redis Streams mode" : ""}) against Node \`socket.io\` ${pkgVersion("socket.io")} +
\`${MODE.pkg}\` ${pkgVersion(MODE.pkg)}, same redis-server, one run.
Written by \`scripts/bench-cluster.sh\` (\`bench/cluster/run.mjs\`); every run overwrites it.

## Setup

${setupHead(started, git)}
| other load | machine ${fmtInt(busyBefore)}% busy in the second before the bench; ${fmtInt(busyDuring)}% during it (this bench included); steal ${fmt(steal, 1)}% (median of the measurements); load average ${load0.map((l) => l.toFixed(2)).join(" ")} at the start, ${load1.map((l) => l.toFixed(2)).join(" ")} at the end |
| cores | ${CFG.pin ? "PIN=1: both nodes and redis-server on core 0 (taskset), the client process on core 1" : "PIN=0: not pinned"} |
| redis | ${redisVersion}, 127.0.0.1, no persistence (\`tests/lib/redis.mjs\`) |
| adapter mode | ${CFG.streams ? `REDIS_STREAMS=1: Redis Streams (every broadcast an \`XADD\` to the stream \`socket.io\`, \`MAXLEN ~ 10000\`, which every node reads with a blocking \`XREAD\`; Node: \`@socket.io/redis-streams-adapter\` ${pkgVersion("@socket.io/redis-streams-adapter")} \`createAdapter\`) on every node, with connection state recovery (RECOVERY_MS=120000: every event carries its stream entry id as offset)` : CFG.sharded ? "REDIS_SHARDED=1: sharded (\`SPUBLISH\`; Node: \`createShardedAdapter\`, subscription mode dynamic) on every node" : "classic (\`PUBLISH\`; Node: \`createAdapter\`) on every node; REDIS_SHARDED=1 for the sharded mode, REDIS_STREAMS=1 for Redis Streams"} |
| sio | \`${path.relative(ROOT, CFG.sioBin)}\` (release) × 2, REDIS_URL + PORT${CFG.streams ? " + REDIS_STREAMS=1 RECOVERY_MS=120000" : ""} |
| node | \`node tests/reference/contract-server.mjs\` × 2 (${process.version}, socket.io ${pkgVersion("socket.io")}, ${MODE.pkg} ${pkgVersion(MODE.pkg)}, redis ${pkgVersion("redis")}), REDIS_URL + PORT${CFG.streams ? " + REDIS_STREAMS=1 RECOVERY_MS=120000" : ""} |
| client | one node process, ${CFG.client === "raw" ? `CLIENT=raw: a minimal Engine.IO/Socket.IO client on \`ws\` ${pkgVersion("ws")} (JSON.parse per event, no socket.io-client)` : `socket.io-client ${sioc}, \`transports: ["websocket"]\``} |
| parameters | CLIENTS=${CFG.clients} MESSAGES=${CFG.messages} WARMUP=${CFG.warmup} WINDOW=${CFG.window} PAYLOAD=${CFG.payload} REPEATS=${CFG.repeats} |

Command: \`${env.BENCH_COMMAND || "node bench/cluster/run.mjs"}\`

## Results (medians of ${CFG.repeats} rounds)

${mdTable(head, rows, numeric)}
${warnings.length ? `\n${warnings.map((w) => `- **!** ${w}`).join("\n")}\n` : ""}${failures.length ? `\n**Failed rounds / problems**:\n\n${failures.map((f) => `- ${f}`).join("\n")}\n` : ""}
## Method

One redis-server for the whole run. Per round, each implementation in turn (the order
alternates from round to round) starts two nodes A and B of its contract server
(\`shared/CONTRACT.md\`) on free ports of 127.0.0.1, both with \`REDIS_URL\` of that Redis${CFG.streams ? " and \`REDIS_STREAMS=1\`, \`RECOVERY_MS=120000\`" : ""}.
${fmtInt(CFG.clients)} receivers connect, alternately to A and B (${fmtInt(Math.ceil(CFG.clients / 2))} on A, ${fmtInt(Math.floor(CFG.clients / 2))} on B), then one sender
to A; every \`connect\` is awaited. The sender emits \`broadcast\` \`{t, i, ph, p}\` (p = ${CFG.payload} B
of \`x\`, t = the client process's \`performance.now()\`), which node A turns into
\`io.emit("bcast", D)\`: ${CFG.streams
    ? `an \`XADD\` to the stream \`socket.io\`, then to its own sockets
(with recovery on, once the XADD has answered, with the entry id appended as the offset), and
node B to its sockets when its blocking \`XREAD\` returns the entry (the
\`@socket.io/redis-streams-adapter\` 0.3 entry format in both implementations)`
    : `to its own sockets directly, to node B's through a Redis ${MODE.cmd}
(the \`@socket.io/redis-adapter\` 8 wire format${CFG.sharded ? ", sharded mode," : ""} in both implementations)`}. ${CFG.warmup} warm-up
messages are sent and drained first (not counted), then ${fmtInt(CFG.messages)} measured ones, with at
most ${CFG.window} messages in flight (not yet received by every receiver). Every round waits for
all deliveries (a round fails after ${CFG.stallMs / 1000} s without progress); the sender's own copies are
not counted.

- **deliveries/s** = measured deliveries (${fmtInt(CFG.clients)} × ${fmtInt(CFG.messages)}) / time from the first measured send
  to the last delivery.
- **latency** = receive time − t, per delivery, exact percentiles; **local** = receivers on
  node A (the sender's node), **cross-node** = receivers on node B (A → Redis → B).${CFG.streams ? " In this mode\n  the local copies wait for the XADD's round trip too." : ""} Senders
  and receivers share the clock (one process), so it includes the client's own scheduling:
  at full speed with a window it is mostly queueing (${CFG.window} × ${fmtInt(CFG.clients)} deliveries in flight).
- **server CPU µs/delivery** = CPU time (user + system, all threads, from
  \`/proc/PID/task/*/schedstat\`, ns) of node A + node B during the measured phase, divided by
  the measured deliveries; per node below it. **redis-server** CPU is reported apart (per
  delivery and per message: ${CFG.streams ? "one XADD, and the XREADs of both nodes, each returning the entries\n  added since its last one" : `one ${MODE.cmd}, one subscriber to feed per node`}).
- **Redis commands per message**: \`INFO commandstats\` of the measured phase (after a
  \`CONFIG RESETSTAT\`), divided by the measured messages (last round):
${impls.map((i) => `  ${NAMES[i]}: ${runs[i].at(-1)?.redisCalls || "?"}`).join(";\n")}.
- **client CPU** is this single client process (all ${fmtInt(CFG.clients + 1)} client sockets):
  near 100 % of its core means the run is client-bound, and the deliveries/s is a lower bound
  for the servers; CPU per delivery stays comparable then.
- **machine busy**: all CPU use of the machine during the measured phase (\`/proc/stat\`), % of
  all ${os.cpus().length} cores; well above (nodes + redis + client) / ${os.cpus().length} means other work shared the machine.

Limits: everything on one 2-core VM over loopback (the kernel's TCP work of both ends is charged
partly to whichever process makes the syscall), and both nodes share one core with Redis;
compare the implementations within one run, not with other machines.
`;
  if (stopping()) throw new Error("interrupted");
  writeFileSync(CFG.results, md);
  log(`wrote ${CFG.results}`);
  return failures.length || impls.some((i) => !runs[i].length) ? 1 : 0;
}

let stopRedis = null;
let redisPid = null;
async function cleanup() {
  for (const nd of [...live]) await stopNode(nd).catch(() => {});
  await stopRedis?.().catch(() => {});
}
const stopping = stopOnSignals(log, cleanup);
process.once("exit", () => {
  for (const nd of live) {
    try {
      if (!nd.exitInfo()) process.kill(nd.pid, "SIGKILL");
    } catch {}
  }
  try {
    if (redisPid) process.kill(redisPid, "SIGKILL");
  } catch {}
});

main().then(
  async (code) => {
    await cleanup();
    process.exit(code);
  },
  async (e) => {
    log(`error: ${e.stack || e.message}`);
    await cleanup();
    process.exit(e.exit ?? 2);
  },
);
