// What the benchmark runners (bench/browser/run.mjs, bench/cluster/run.mjs) share: their
// env parameters, the servers they start and stop, reachability and machine-load probes,
// and the tables they print and write.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";

const { env } = process;

/** The non-negative number in env `name`, or `def` when unset. */
export const num = (name, def) => {
  const v = env[name] === undefined || env[name] === "" ? def : Number(env[name]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number, got ${JSON.stringify(env[name])}`);
  return v;
};

/** A free TCP port of 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `cmd args` with PORT = a free port of 127.0.0.1 (and `env`, and each variable of
 *  `portEnv` set to the same port), keeping the last 64 KiB of its output; resolves once the
 *  port accepts connections (rejects if it exits first or `timeoutMs` passes). Returns
 *  {pid, port, child, exited, exitInfo(), output()}. */
export async function startListening(what, cmd, args, { env: extra = {}, portEnv = [], cwd, timeoutMs = 20_000 } = {}) {
  const port = await freePort();
  const same = Object.fromEntries(portEnv.map((k) => [k, String(port)]));
  const child = spawn(cmd, args, { cwd, env: { ...env, ...extra, ...same, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (c) => (out = (out + c).slice(-64 * 1024));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve((exitInfo = { code, signal })));
    child.once("error", (e) => resolve((exitInfo = { error: e.message })));
  });
  const proc = { pid: child.pid, port, child, exited, exitInfo: () => exitInfo, output: () => out };
  const deadline = Date.now() + timeoutMs;
  for (let backoff = 5; ; backoff = Math.min(backoff * 2, 100)) {
    if (exitInfo) throw new Error(`${what} exited before listening (${JSON.stringify(exitInfo)}):\n${out}`);
    if (await canConnect(port)) return proc;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port} in ${timeoutMs / 1000} s:\n${out}`);
    await Promise.race([new Promise((r) => setTimeout(r, backoff)), exited]);
  }
}

/** Stops a process of `startListening` by its PID: SIGTERM, SIGKILL after 5 s; resolves
 *  once it has exited. */
export async function stopProcess(proc) {
  if (!proc || proc.exitInfo()) return;
  const kill = (sig) => {
    try {
      process.kill(proc.pid, sig);
    } catch {}
  };
  kill("SIGTERM");
  const t = setTimeout(() => !proc.exitInfo() && kill("SIGKILL"), 5_000);
  await proc.exited;
  clearTimeout(t);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    const done = (ok) => (s.destroy(), resolve(ok));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** The machine's CPU counters so far (/proc/stat ticks): busy, total and stolen. */
export function machineCpu() {
  try {
    const v = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - v[4], total, steal: v[7] };
  } catch {
    return { busy: NaN, total: NaN, steal: NaN };
  }
}

/** How busy the machine was between two `machineCpu()` readings, in %. */
export const busyPct = (a, b) => (100 * (b.busy - a.busy)) / (b.total - a.total);

export const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");

/** A plain-text table, numeric columns right-aligned. */
export function table(head, rows, numericCols) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (numericCols.includes(i) ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

/** The same table in markdown. */
export function mdTable(head, rows, numericCols) {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map((_, i) => (numericCols.includes(i) ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** The commit measured, noting uncommitted changes under `dirs` of the repo at `root`
 *  (env BENCH_GIT_STATE, taken by a script before its builds, wins). */
export function gitState(root, dirs) {
  if (env.BENCH_GIT_STATE) return env.BENCH_GIT_STATE;
  try {
    const rev = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["-C", root, "status", "--porcelain", "--", ...dirs], { encoding: "utf8" }).trim();
    return `${rev}${dirty ? ` + uncommitted changes in ${dirs.join("/")}` : ""}`;
  } catch {
    return "unknown";
  }
}

/** The first rows of a RESULTS.md setup table: when, which commit, which machine. */
export function setupHead(started, git) {
  const cpu = os.cpus();
  return `| | |
| --- | --- |
| date | ${started.toISOString()} |
| commit | ${git} |
| machine | ${cpu.length} × ${cpu[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()} |`;
}

/** On Ctrl-C or SIGTERM: `cleanup()`, then exit 130 without writing results. Returns whether
 *  that has begun, for the runners to stop between measurements. */
export function stopOnSignals(log, cleanup) {
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, async () => {
      stopping = true;
      log(`${sig}: stopping (no results written)`);
      await cleanup();
      process.exit(130);
    });
  }
  return () => stopping;
}
