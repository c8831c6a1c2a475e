// Tables of the scale benchmarks from their JSON lines (scripts/bench-scale.sh writes them):
//
//   node bench/scale/report.mjs bench/data/<date>/{idle-line,broadcast,storm,churn}.jsonl
//
// One table per file, by scenario; `--md` prints markdown tables (for RESULTS.md). For
// idle-line it also fits RSS = intercept + slope × connections (least squares over the
// clients sizes) per server, and extrapolates it to 100k connections.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fmtInt, mdTable, table } from "../lib/common.mjs";

const args = process.argv.slice(2);
const md = args.includes("--md");
const files = args.filter((a) => a !== "--md");
if (!files.length) {
  console.error("usage: node bench/scale/report.mjs [--md] FILE.jsonl...");
  process.exit(2);
}

const print = (title, head, rows, numeric) => {
  console.log(md ? `\n#### ${title}\n\n${mdTable(head, rows, numeric)}` : `\n## ${title}\n${table(head, rows, numeric)}`);
};
const f = (v, d = 1) => (Number.isFinite(v) ? v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "—");
const mib = (b) => (Number.isFinite(b) ? f(b / 2 ** 20, 1) : "—");
const verdict = (r) => (r.ok ? "ok" : `FAIL: ${(r.failures || []).join("; ")}`);

/** Least squares y = a + b x. */
function fit(points) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const b = sxy / sxx;
  const a = my - b * mx;
  const ss = points.reduce((s, p) => s + (p[1] - a - b * p[0]) ** 2, 0);
  const st = points.reduce((s, p) => s + (p[1] - my) ** 2, 0);
  return { a, b, r2: st > 0 ? 1 - ss / st : 1 };
}

function idleLine(rows) {
  const servers = [...new Set(rows.map((r) => r.server))];
  const body = [];
  for (const r of rows) {
    body.push([r.server, fmtInt(r.clients), fmtInt(r.alive_after_hold), fmtInt(r.bytes_per_conn), fmtInt(r.hwm_bytes_per_conn),
      mib(r.server_rss_before), mib(r.server_rss_after_hold), fmtInt(r.connect_rate), f(r.server_cpu_us_per_connect, 0), r.server_alive === false ? "DIED" : "yes"]);
  }
  print("idle: one point per size (shared harness, `compare.sh idle --hold 10`)",
    ["server", "clients", "alive", "bytes/conn", "hwm bytes/conn", "rss before MiB", "rss held MiB", "conn/s", "srv µs/conn", "alive at end"], body, [1, 2, 3, 4, 5, 6, 7, 8]);
  const lines = [];
  for (const s of servers) {
    const pts = rows.filter((r) => r.server === s && r.alive_after_hold > 0).map((r) => [r.alive_after_hold, r.server_rss_after_hold]);
    const hw = rows.filter((r) => r.server === s && r.alive_after_hold > 0).map((r) => [r.alive_after_hold, r.server_hwm]);
    const l = fit(pts);
    const h = fit(hw);
    const cpu = rows.filter((r) => r.server === s).map((r) => r.server_cpu_us_per_connect).filter(Number.isFinite);
    if (!l) continue;
    lines.push([s, fmtInt(l.b), mib(l.a), f(l.r2, 4), h ? fmtInt(h.b) : "—", mib(l.a + l.b * 100_000), mib((h?.a ?? NaN) + (h?.b ?? NaN) * 100_000),
      cpu.length ? `${f(Math.min(...cpu), 0)}–${f(Math.max(...cpu), 0)}` : "—", cpu.length ? f((100_000 * cpu.reduce((a, b) => a + b, 0)) / cpu.length / 1e6, 1) : "—"]);
  }
  print("idle: the line RSS = intercept + slope × connections (least squares over the sizes)",
    ["server", "slope B/conn", "intercept MiB", "R²", "hwm slope B/conn", "RSS at 100k MiB", "HWM at 100k MiB", "srv µs/conn (range)", "CPU s for 100k connects"], lines, [1, 2, 3, 4, 5, 6, 8]);
}

function broadcast(rows) {
  print("broadcast: one broadcast to N sockets at a time (time until the last delivery)",
    ["server", "clients", "connected", "broadcasts", "last p50 ms", "last p99 ms", "last max ms", "first p50 ms", "lost", "srv µs/deliv", "srv cpu%", "cli cpu%", "others cpu%", "verdict"],
    rows.map((r) => [r.server, fmtInt(r.clients), fmtInt(r.connected), r.broadcasts, f(r.last_p50_ms, 1), f(r.last_p99_ms, 1), f(r.last_max_ms, 1), f(r.first_p50_ms, 2),
      fmtInt(r.lost), f(r.server_cpu_us_per_delivery, 3), f(r.server_cpu_pct, 0), f(r.client_cpu_pct, 0), f(r.others_cpu_pct, 0), verdict(r)]),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
}

function storm(rows) {
  print("storm: every connection lost at once, every client reconnects (socket.io-client backoff)",
    ["server", "mode", "clients", "back", "back %", "all back s", "retries", "lost again", "rss before MiB", "peak MiB", "rss after MiB", "srv µs/reconn", "others cpu%", "log warn/err", "counts after", "verdict"],
    rows.map((r) => [r.server, r.mode, fmtInt(r.clients), fmtInt(r.back), f(r.back_pct, 1), f(r.all_back_s, 2), fmtInt(r.retries), fmtInt(r.lost_again),
      mib(r.server_rss_before), mib(Math.max(r.server_rss_peak_sampled ?? 0, r.mode === "rst" ? (r.server_hwm ?? 0) : 0)), mib(r.server_rss_after),
      f(r.server_cpu_us_per_reconnect, 0), r.mode === "restart" ? "—" : f(r.others_cpu_pct, 0), r.server_log_problems ?? "—",
      r.server_info_after ? `${r.server_info_after.engineCount}/${r.server_info_after.nspSockets}` : "n/a", verdict(r)]),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
}

function churn(rows) {
  print("churn: abrupt connection attempts while an observer checks every ack",
    ["server", "attempts", "att/s", "failed", "obs acks", "missing", "late", "rtt p99 ms", "rtt max ms", "counts back", "settle s", "rss base MiB", "rss after MiB", "growth %", "hwm MiB", "srv µs/att", "others cpu%", "log warn/err", "verdict"],
    rows.map((r) => [r.server, fmtInt(r.attempts), fmtInt(r.attempts_per_s), fmtInt(r.failed), fmtInt(r.observer_acks), fmtInt(r.observer_missing), fmtInt(r.observer_late),
      f(r.observer_rtt_p99_ms, 2), f(r.observer_rtt_max_ms, 1), r.counts_checked ? String(r.counts_back) : "n/a", f(r.settle_s, 1),
      mib(r.server_rss_baseline), mib(r.server_rss_after), f(r.rss_growth_pct, 1), mib(r.server_hwm), f(r.server_cpu_us_per_attempt, 1), f(r.others_cpu_pct, 0), r.server_log_problems ?? "—", verdict(r)]),
    [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17]);
  for (const r of rows) {
    const pp = Object.entries(r.per_pattern || {});
    print(`churn per pattern: ${r.server}`, ["pattern", "ok", "failed", "mean ms", "first error"],
      pp.map(([k, v]) => [k, fmtInt(v.ok), fmtInt(v.failed), f(v.mean_ms, 1), v.first_error ?? ""]), [1, 2, 3]);
  }
}

for (const file of files) {
  const rows = readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  if (!rows.length) continue;
  if (basename(file).startsWith("idle")) {
    idleLine(rows);
    continue;
  }
  for (const kind of [...new Set(rows.map((r) => r.scenario))]) {
    ({ broadcast, storm, churn })[kind]?.(rows.filter((r) => r.scenario === kind));
  }
}
