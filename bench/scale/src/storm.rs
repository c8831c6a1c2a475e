//! `storm`: N clients connected to `/`; then every connection is lost at once — the clients
//! reset them (`rst`: RST, SO_LINGER 0) or the server is restarted on the same port
//! (`restart`: SIGTERM, a new process) — and every client reconnects as socket.io-client
//! does: after its backoff delay (1 s × 2^attempt, ±50 % jitter, at most 5 s), again on
//! refusal, with a bounded number of handshakes in flight.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{Semaphore, watch};

use crate::error::{Error, Result};
use crate::sys::{self, Snap};
use crate::ws::{self, Target};
use crate::{Opts, Srv, verdict};

const INITIAL: u8 = 0;
const DROPPED: u8 = 1;
const STOP: u8 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Rst,
    Restart,
}

struct Shared {
    epoch: Instant,
    connected: AtomicUsize,
    /// clients connected again after the drop (each counted once)
    back: AtomicUsize,
    /// clients that had a connection before the drop
    initial: AtomicUsize,
    /// failed handshakes (refused, reset, timed out): each one waits a backoff delay
    retries: AtomicU64,
    /// connections lost again after being back (restart mode: a server that was stopping)
    lost_again: AtomicUsize,
    last_back_ns: AtomicU64,
    first_error: Mutex<Option<String>>,
    ramp: Semaphore,
    reconnect: Semaphore,
}

/// socket.io-client's `Backoff.duration()` (reconnectionDelay `min`, reconnectionDelayMax
/// `max`, factor 2, randomizationFactor 0.5), one random number for size and sign.
fn backoff(attempt: u32, min: Duration, max: Duration, rng: &mut fastrand::Rng) -> Duration {
    let ms = min.as_millis() as f64 * 2f64.powi(attempt.min(30) as i32);
    let r = rng.f64();
    let dev = (r * 0.5 * ms).floor();
    let ms = if ((r * 10.0).floor() as u64) & 1 == 0 {
        ms - dev
    } else {
        ms + dev
    };
    Duration::from_millis(ms.min(max.as_millis() as f64) as u64)
}

async fn handshake(t: &Target) -> Result<ws::Ws> {
    let (mut w, _) = ws::open(t).await?;
    match ws::connect_nsp(&mut w, t, "/", None).await? {
        ws::Connect::Ok => Ok(w),
        ws::Connect::Refused(why) => Err(Error::Protocol(format!("refused: {why}"))),
    }
}

/// Holds a connection, answering pings, until it is closed by the server, or the run asks
/// this client to drop it (rst mode) or to stop. Returns whether the run wants it to stop.
async fn hold(mut w: ws::Ws, phase: &mut watch::Receiver<u8>, mode: Mode) -> bool {
    let joined = *phase.borrow();
    loop {
        tokio::select! {
            biased;
            _ = phase.changed() => {
                let p = *phase.borrow();
                if p == STOP {
                    return true;
                }
                if mode == Mode::Rst && joined == INITIAL && p == DROPPED {
                    // Dropping the stream closes with RST (SO_LINGER 0).
                    return false;
                }
            }
            r = ws::recv(&mut w) => match r {
                Ok(t) if t.as_str() == "2" => {
                    if ws::send(&mut w, "3").await.is_err() {
                        return false;
                    }
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }
}

async fn client(
    i: usize,
    t: Target,
    sh: Arc<Shared>,
    mut phase: watch::Receiver<u8>,
    mode: Mode,
    delays: (Duration, Duration),
    seed: u64,
) {
    let mut rng = fastrand::Rng::with_seed(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut attempt = 0u32;
    let mut counted_back = false;
    loop {
        let p = *phase.borrow();
        if p == STOP {
            return;
        }
        let sem = if p == INITIAL {
            &sh.ramp
        } else {
            &sh.reconnect
        };
        let Ok(permit) = sem.acquire().await else {
            return;
        };
        let r = handshake(&t).await;
        drop(permit);
        match r {
            Ok(w) => {
                attempt = 0;
                sh.connected.fetch_add(1, Relaxed);
                let p = *phase.borrow();
                if p == INITIAL {
                    sh.initial.fetch_add(1, Relaxed);
                } else if !counted_back {
                    counted_back = true;
                    sh.back.fetch_add(1, Relaxed);
                    sh.last_back_ns
                        .fetch_max(sh.epoch.elapsed().as_nanos() as u64, Relaxed);
                } else {
                    // back once already, lost it, and back again
                }
                let stop = hold(w, &mut phase, mode).await;
                sh.connected.fetch_sub(1, Relaxed);
                if stop {
                    return;
                }
                if counted_back {
                    sh.lost_again.fetch_add(1, Relaxed);
                }
            }
            Err(e) => {
                sh.retries.fetch_add(1, Relaxed);
                let mut fe = sh.first_error.lock().unwrap_or_else(|e| e.into_inner());
                fe.get_or_insert(e.to_string());
            }
        }
        // socket.io-client waits its backoff delay before every reconnection attempt,
        // the first one included.
        let d = backoff(attempt, delays.0, delays.1, &mut rng);
        attempt += 1;
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = phase.wait_for(|&p| p == STOP) => return,
        }
    }
}

/// Waits until `cond` holds, checking every 20 ms, for at most `bound`.
async fn until(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    while !cond() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Asks a fresh socket's `server-info` until the server counts `want` sessions and sockets
/// on `/` (bounded); the last answer.
async fn counts(t: &Target, want: u64, bound: Duration) -> Result<(bool, serde_json::Value)> {
    let mut w = handshake(t).await?;
    let deadline = Instant::now() + bound;
    let mut id = 0u64;
    loop {
        id += 1;
        ws::send(&mut w, &format!("42{id}[\"server-info\"]")).await?;
        let info = loop {
            let text = ws::recv_app(&mut w).await?;
            if let Some(("/", got, args)) = ws::parse_ack(text.as_str()) {
                if got == id {
                    let v: serde_json::Value = serde_json::from_str(args)
                        .map_err(|e| Error::Protocol(format!("server-info ack: {e}")))?;
                    break v.get(0).cloned().unwrap_or_default();
                }
            }
        };
        let n = |k: &str| info.get(k).and_then(serde_json::Value::as_u64);
        let good = n("engineCount") == Some(want) && n("nspSockets") == Some(want);
        if good || Instant::now() > deadline {
            return Ok((good, info));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the scenario.
pub async fn run(o: &Opts) -> Result<(bool, String)> {
    let n: usize = o.num("clients", 19_500)?;
    let mode = match o.str("mode").unwrap_or("rst") {
        "rst" => Mode::Rst,
        "restart" => Mode::Restart,
        m => {
            return Err(Error::Usage(format!(
                "--mode must be rst or restart, not {m:?}"
            )));
        }
    };
    let delays = (o.ms("delay-ms", 1000)?, o.ms("delay-max-ms", 5000)?);
    let back_bound = Duration::from_secs_f64(o.num("back-timeout-s", 180.0)?);
    let mut srv = o.server().await?;
    if mode == Mode::Restart && !matches!(srv, Srv::Owned(_)) {
        return Err(Error::Usage(
            "--mode restart needs --server-cmd (this process restarts it)".into(),
        ));
    }
    let mut t = o.target(srv.port())?;
    t.read_buffer = 512;
    let sh = Arc::new(Shared {
        epoch: Instant::now(),
        connected: AtomicUsize::new(0),
        back: AtomicUsize::new(0),
        initial: AtomicUsize::new(0),
        retries: AtomicU64::new(0),
        lost_again: AtomicUsize::new(0),
        last_back_ns: AtomicU64::new(0),
        first_error: Mutex::new(None),
        ramp: Semaphore::new(o.num("concurrency", 64)?),
        reconnect: Semaphore::new(o.num("reconnect-concurrency", 256)?),
    });
    let (phase_tx, phase_rx) = watch::channel(INITIAL);
    let seed: u64 = o.num("seed", 1)?;
    let mut failures = Vec::new();
    let rss0 = srv.mem("VmRSS");
    let t0 = Instant::now();
    for i in 0..n {
        let (t, sh, rx) = (t.clone(), sh.clone(), phase_rx.clone());
        tokio::spawn(client(i, t, sh, rx, mode, delays, seed));
    }
    let all_in = until(back_bound, || sh.initial.load(Relaxed) >= n).await;
    let ramp_s = t0.elapsed().as_secs_f64();
    let initial = sh.initial.load(Relaxed);
    eprintln!("[storm] {initial}/{n} connected in {ramp_s:.1}s");
    if !all_in {
        failures.push(format!(
            "only {initial} of {n} clients connected before the drop"
        ));
    }
    let retries_ramp = sh.retries.load(Relaxed);
    let rss_before = srv.mem("VmRSS");
    let hwm_before = srv.mem("VmHWM");
    let old_pid = srv.pid();

    let cpu0 = Snap::take(srv.pid());
    let t_drop = Instant::now();
    let drop_ns = sh.epoch.elapsed().as_nanos() as u64;
    let _ = phase_tx.send(DROPPED);
    let mut restart_exit = None;
    if let Srv::Owned(s) = &mut srv {
        if mode == Mode::Restart {
            restart_exit = s.restart().await?;
        }
    }
    let restart_s = t_drop.elapsed().as_secs_f64();
    // Peak memory of the (new) process while everyone comes back, sampled: VmHWM of a
    // restarted process covers only the new one.
    let mut peak = 0u64;
    let all_back = until(back_bound, || {
        if let Some(r) = srv.mem("VmRSS") {
            peak = peak.max(r);
        }
        sh.back.load(Relaxed) >= n && sh.connected.load(Relaxed) >= n
    })
    .await;
    let back_s = (sh.last_back_ns.load(Relaxed).saturating_sub(drop_ns)) as f64 / 1e9;
    let cpu1 = Snap::take(srv.pid());
    let back = sh.back.load(Relaxed);
    eprintln!("[storm] {back}/{n} back {back_s:.1}s after the drop");
    if !all_back {
        failures.push(format!(
            "only {back} of {n} clients came back within {back_bound:?}"
        ));
    }
    let rss_after = srv.mem("VmRSS");
    let hwm_after = srv.mem("VmHWM");

    let mut j = o.head(&mut srv);
    if o.server_info()? {
        match counts(&t, n as u64 + 1, Duration::from_secs(20)).await {
            Ok((good, info)) => {
                if !good {
                    failures.push(format!(
                        "the server does not count {} sessions and sockets after the storm: {info}",
                        n + 1
                    ));
                }
                j.insert("server_info_after".into(), info);
            }
            Err(e) => failures.push(format!("server-info after the storm: {e}")),
        }
    }
    let _ = phase_tx.send(STOP);
    j.insert("clients".into(), json!(n));
    j.insert(
        "mode".into(),
        json!(if mode == Mode::Rst { "rst" } else { "restart" }),
    );
    j.insert("connected_before".into(), json!(initial));
    j.insert("ramp_s".into(), sys::round(Some(ramp_s), 2));
    j.insert("retries_ramp".into(), json!(retries_ramp));
    j.insert("back".into(), json!(back));
    j.insert(
        "back_pct".into(),
        sys::round(Some(100.0 * back as f64 / n.max(1) as f64), 2),
    );
    j.insert("all_back_s".into(), sys::round(Some(back_s), 2));
    j.insert(
        "retries".into(),
        json!(sh.retries.load(Relaxed) - retries_ramp),
    );
    j.insert("lost_again".into(), json!(sh.lost_again.load(Relaxed)));
    j.insert(
        "restart_s".into(),
        sys::round((mode == Mode::Restart).then_some(restart_s), 3),
    );
    j.insert("restart_exit".into(), json!(restart_exit));
    j.insert("old_server_pid".into(), json!(old_pid));
    j.insert("server_rss_start".into(), json!(rss0));
    j.insert("server_rss_before".into(), json!(rss_before));
    j.insert("server_hwm_before".into(), json!(hwm_before));
    j.insert("server_rss_peak_sampled".into(), json!(peak));
    j.insert("server_hwm".into(), json!(hwm_after));
    j.insert("server_rss_after".into(), json!(rss_after));
    j.insert(
        "first_error".into(),
        json!(
            sh.first_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        ),
    );
    cpu0.fields(&cpu1, back as u64, "reconnect", &mut j);
    if mode == Mode::Restart {
        // The new process's counters start at the restart: all its CPU is the storm's.
        let cpu = srv.pid().and_then(|p| sys::cpu_s(&p.to_string()));
        let wall = t_drop.elapsed().as_secs_f64();
        j.insert("server_cpu_s".into(), sys::round(cpu, 3));
        j.insert(
            "server_cpu_pct".into(),
            sys::round(cpu.map(|c| 100.0 * c / wall), 1),
        );
        // The old process's CPU after the snapshot cannot be read any more, so what the
        // others took cannot be told apart from it.
        j.insert("others_cpu_pct".into(), serde_json::Value::Null);
        j.insert(
            "server_cpu_us_per_reconnect".into(),
            sys::round(cpu.map(|c| c * 1e6 / back.max(1) as f64), 3),
        );
    }
    j.insert(
        "client_rss".into(),
        json!(sys::status_bytes("self", "VmRSS")),
    );
    srv.finish(&mut j, &mut failures, true).await;
    Ok(verdict(j, failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_socket_io_clients() {
        let mut rng = fastrand::Rng::with_seed(7);
        let (min, max) = (Duration::from_millis(1000), Duration::from_millis(5000));
        for _ in 0..1000 {
            let d0 = backoff(0, min, max, &mut rng).as_millis();
            assert!((500..=1500).contains(&d0), "{d0}");
            let d5 = backoff(5, min, max, &mut rng).as_millis();
            assert!(d5 <= 5000, "{d5}");
        }
    }
}
