//! Readings of /proc: CPU time and memory of the server (by PID) and of this process, and
//! the machine's steal time. Nothing here needs privileges or unsafe code.

use std::time::Instant;

/// CPU seconds of process `pid` ("self" for this one), all threads: the per-thread on-CPU
/// nanoseconds of /proc/PID/task/*/schedstat (exact, as the shared loadgen reads them).
pub fn cpu_s(pid: &str) -> Option<f64> {
    let mut total_ns: u64 = 0;
    let mut n = 0;
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(e) = e else { continue };
        let Ok(s) = std::fs::read_to_string(e.path().join("schedstat")) else {
            continue;
        };
        if let Some(v) = s
            .split_whitespace()
            .next()
            .and_then(|x| x.parse::<u64>().ok())
        {
            total_ns += v;
            n += 1;
        }
    }
    (n > 0).then(|| total_ns as f64 / 1e9)
}

/// A `kB` field (VmRSS, VmHWM, …) of /proc/PID/status, in bytes.
pub fn status_bytes(pid: &str, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|line| {
        let v = line.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// A text field of /proc/PID/status (e.g. `Cpus_allowed_list`).
pub fn status_str(pid: &str, field: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|line| {
        Some(
            line.strip_prefix(field)?
                .strip_prefix(':')?
                .trim()
                .to_string(),
        )
    })
}

/// Machine-wide jiffies of /proc/stat's `cpu` line (all cores).
#[derive(Clone, Copy)]
struct Stat {
    /// time the hypervisor gave this VM's vCPUs to someone else: it distorts any timing
    steal: u64,
    /// not idle, not waiting for I/O
    busy: u64,
    total: u64,
}

fn stat() -> Option<Stat> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    Some(Stat {
        steal: *v.get(7)?,
        busy: total - v.get(3)? - v.get(4)?,
        total,
    })
}

/// Cores of this machine (for the machine-wide CPU share): the `cpuN` lines of /proc/stat,
/// not this process's affinity mask, which is one core when pinned.
fn cores() -> f64 {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let n = s
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    n.max(1) as f64
}

/// CPU counters at one moment: wall clock, this process, the server, the machine's steal.
#[derive(Clone, Copy)]
pub struct Snap {
    wall: Instant,
    client: Option<f64>,
    server: Option<f64>,
    stat: Option<Stat>,
}

impl Snap {
    /// Reads the counters now; `pid` is the server's.
    pub fn take(pid: Option<u32>) -> Self {
        Snap {
            wall: Instant::now(),
            client: cpu_s("self"),
            server: pid.and_then(|p| cpu_s(&p.to_string())),
            stat: stat(),
        }
    }

    /// Server CPU seconds from `self` to `later`.
    pub fn server_s(&self, later: &Snap) -> Option<f64> {
        Some(later.server? - self.server?)
    }

    /// The CPU fields of the interval from `self` to `later` into `j`: client and server
    /// CPU (s, % of one core), server µs per `unit` (`units` of them), steal %.
    pub fn fields(&self, later: &Snap, units: u64, unit: &str, j: &mut crate::Json) {
        let wall = (later.wall - self.wall).as_secs_f64().max(1e-9);
        let client = later.client.zip(self.client).map(|(b, a)| b - a);
        j.insert("client_cpu_s".into(), round(client, 3));
        j.insert(
            "client_cpu_pct".into(),
            round(client.map(|c| 100.0 * c / wall), 1),
        );
        let server = self.server_s(later);
        j.insert("server_cpu_s".into(), round(server, 3));
        j.insert(
            "server_cpu_pct".into(),
            round(server.map(|s| 100.0 * s / wall), 1),
        );
        let per = server.filter(|_| units > 0).map(|s| s * 1e6 / units as f64);
        j.insert(format!("server_cpu_us_per_{unit}"), round(per, 3));
        let (steal, others) = match (self.stat, later.stat) {
            (Some(a), Some(b)) if b.total > a.total => {
                let dt = (b.total - a.total) as f64;
                // Busy time of the whole machine, in % of one core, less ours and the
                // server's: what other processes (builds) took from the run.
                let busy = 100.0 * cores() * (b.busy - a.busy) as f64 / dt;
                let ours = client.unwrap_or(0.0) + server.unwrap_or(0.0);
                (
                    Some(100.0 * (b.steal - a.steal) as f64 / dt),
                    Some((busy - 100.0 * ours / wall).max(0.0)),
                )
            }
            _ => (None, None),
        };
        j.insert("steal_pct".into(), round(steal, 2));
        j.insert("others_cpu_pct".into(), round(others, 0));
    }
}

/// `v` rounded to `decimals` places as a JSON number (null when absent or not finite).
pub fn round(v: Option<f64>, decimals: i32) -> serde_json::Value {
    let p = 10f64.powi(decimals);
    v.filter(|x| x.is_finite())
        .map(|x| serde_json::json!((x * p).round() / p))
        .unwrap_or(serde_json::Value::Null)
}

/// The `q` quantile (0..=1) of `sorted` (ascending), by the nearest-rank-below rule the
/// shared loadgen uses; 0 for no samples.
pub fn pct(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64) * q).floor() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// `<prefix>_p50_ms`, `_p99_ms`, `_max_ms` of nanosecond samples (sorted in place).
pub fn lat_ms(j: &mut crate::Json, prefix: &str, v: &mut [u64]) {
    v.sort_unstable();
    let ms = |ns: u64| Some(ns as f64 / 1e6);
    j.insert(format!("{prefix}_p50_ms"), round(ms(pct(v, 0.50)), 3));
    j.insert(format!("{prefix}_p99_ms"), round(ms(pct(v, 0.99)), 3));
    j.insert(
        format!("{prefix}_max_ms"),
        round(ms(v.last().copied().unwrap_or(0)), 3),
    );
}
