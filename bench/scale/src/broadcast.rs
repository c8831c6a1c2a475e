//! `broadcast`: N receivers on `/`, one sender; the sender emits `broadcast` {i} and waits
//! until every receiver has its `bcast` before the next one (one broadcast at a time). Per
//! broadcast: time from the send to the last receiver's delivery (and to the first).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use serde_json::json;
use tokio::sync::{Notify, Semaphore};

use crate::error::Result;
use crate::sys::{self, Snap};
use crate::ws::{self, Target};
use crate::{Opts, verdict};

/// Deliveries of one broadcast, written by the receivers.
struct Slot {
    count: AtomicUsize,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
}

struct Shared {
    epoch: Instant,
    slots: Vec<Slot>,
    /// deliveries that complete a broadcast (the receivers that connected)
    target: AtomicUsize,
    done: Notify,
    /// receivers whose connection ended before the run did
    closed: AtomicUsize,
    /// `bcast` frames without a known index
    bad: AtomicU64,
}

async fn receiver(mut w: ws::Ws, sh: Arc<Shared>) {
    loop {
        let Ok(text) = ws::recv(&mut w).await else {
            sh.closed.fetch_add(1, Relaxed);
            return;
        };
        let b = text.as_bytes();
        if b == b"2" {
            if ws::send(&mut w, "3").await.is_err() {
                sh.closed.fetch_add(1, Relaxed);
                return;
            }
        } else if b.starts_with(ws::BCAST_PREFIX) {
            let now = sh.epoch.elapsed().as_nanos() as u64;
            match ws::field_i(b).and_then(|i| sh.slots.get(i as usize)) {
                Some(slot) => {
                    slot.first_ns.fetch_min(now, Relaxed);
                    slot.last_ns.fetch_max(now, Relaxed);
                    if slot.count.fetch_add(1, Relaxed) + 1 == sh.target.load(Relaxed) {
                        sh.done.notify_one();
                    }
                }
                None => {
                    sh.bad.fetch_add(1, Relaxed);
                }
            }
        }
    }
}

/// Connects `n` sockets to `/` with at most `concurrency` handshakes in flight; each gets a
/// receiver task. Returns (connected, failed, first error).
async fn connect_all(
    t: &Target,
    n: usize,
    concurrency: usize,
    sh: &Arc<Shared>,
) -> (usize, usize, Option<String>) {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let (t, sh) = (t.clone(), sh.clone());
        set.spawn(async move {
            let r = async {
                let (mut w, _) = ws::open(&t).await?;
                match ws::connect_nsp(&mut w, &t, "/", None).await? {
                    ws::Connect::Ok => Ok(w),
                    ws::Connect::Refused(why) => {
                        Err(crate::error::Error::Protocol(format!("refused: {why}")))
                    }
                }
            }
            .await;
            drop(permit);
            r.map(|w| {
                tokio::spawn(receiver(w, sh));
            })
        });
    }
    let (mut ok, mut failed, mut first) = (0, 0, None);
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                failed += 1;
                first.get_or_insert(e.to_string());
            }
            Err(e) => {
                failed += 1;
                first.get_or_insert(e.to_string());
            }
        }
    }
    (ok, failed, first)
}

/// Runs the scenario.
pub async fn run(o: &Opts) -> Result<(bool, String)> {
    let n: usize = o.num("clients", 19_500)?;
    let measured: usize = o.num("broadcasts", 20)?;
    let warmup: usize = o.num("warmup", 2)?;
    let wait = o.ms("delivery-timeout-ms", 30_000)?;
    let mut srv = o.server().await?;
    let mut t = o.target(srv.port())?;
    t.read_buffer = 512;
    let total = warmup + measured;
    let sh = Arc::new(Shared {
        epoch: Instant::now(),
        slots: (0..total)
            .map(|_| Slot {
                count: AtomicUsize::new(0),
                first_ns: AtomicU64::new(u64::MAX),
                last_ns: AtomicU64::new(0),
            })
            .collect(),
        target: AtomicUsize::new(n),
        done: Notify::new(),
        closed: AtomicUsize::new(0),
        bad: AtomicU64::new(0),
    });
    let mut failures = Vec::new();
    let rss0 = srv.mem("VmRSS");
    let t0 = Instant::now();
    let (connected, failed, first_error) = connect_all(&t, n, o.num("concurrency", 64)?, &sh).await;
    let ramp_s = t0.elapsed().as_secs_f64();
    eprintln!("[broadcast] {connected}/{n} connected in {ramp_s:.1}s ({failed} failed)");
    if connected < n {
        failures.push(format!(
            "{} of {n} receivers did not connect",
            n - connected
        ));
    }
    let rss_connected = srv.mem("VmRSS");
    sh.target.store(connected, Relaxed);

    let (mut sender, _) = ws::open(&t).await?;
    if ws::connect_nsp(&mut sender, &t, "/", None).await? != ws::Connect::Ok {
        failures.push("the sender was refused".into());
    }
    let mut last = Vec::new();
    let mut first = Vec::new();
    let mut incomplete = 0usize;
    let mut lost = 0usize;
    let mut cpu0 = Snap::take(srv.pid());
    for k in 0..total {
        if k == warmup {
            cpu0 = Snap::take(srv.pid());
        }
        let frame = ws::shared_text(format!("42[\"broadcast\",{{\"i\":{k}}}]"));
        let sent_ns = sh.epoch.elapsed().as_nanos() as u64;
        ws::send_bytes(&mut sender, &frame).await?;
        let slot = &sh.slots[k];
        let deadline = tokio::time::Instant::now() + wait;
        // The sender gets its own copy (sender included) and pings: it keeps reading.
        while slot.count.load(Relaxed) < connected {
            tokio::select! {
                biased;
                _ = sh.done.notified() => {}
                r = ws::recv(&mut sender) => {
                    if r?.as_str() == "2" {
                        ws::send(&mut sender, "3").await?;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        let got = slot.count.load(Relaxed);
        if k >= warmup {
            if got < connected {
                incomplete += 1;
                lost += connected - got;
            }
            last.push(slot.last_ns.load(Relaxed).saturating_sub(sent_ns));
            first.push(slot.first_ns.load(Relaxed).saturating_sub(sent_ns));
        }
    }
    let cpu1 = Snap::take(srv.pid());
    if lost > 0 {
        failures.push(format!(
            "{lost} deliveries missing in {incomplete} broadcasts (waited {wait:?})"
        ));
    }
    let closed = sh.closed.load(Relaxed);
    if closed > 0 {
        failures.push(format!("{closed} receivers lost their connection"));
    }

    let mut j = o.head(&mut srv);
    j.insert("clients".into(), json!(n));
    j.insert("connected".into(), json!(connected));
    j.insert("connect_failed".into(), json!(failed));
    j.insert("first_error".into(), json!(first_error));
    j.insert("ramp_s".into(), sys::round(Some(ramp_s), 2));
    j.insert("broadcasts".into(), json!(measured));
    j.insert("warmup".into(), json!(warmup));
    j.insert("incomplete".into(), json!(incomplete));
    j.insert("lost".into(), json!(lost));
    j.insert("bad_frames".into(), json!(sh.bad.load(Relaxed)));
    j.insert("closed_early".into(), json!(closed));
    j.insert("server_rss_before".into(), json!(rss0));
    j.insert("server_rss_connected".into(), json!(rss_connected));
    j.insert("server_hwm".into(), json!(srv.mem("VmHWM")));
    sys::lat_ms(&mut j, "last", &mut last);
    sys::lat_ms(&mut j, "first", &mut first);
    cpu0.fields(&cpu1, (measured * connected) as u64, "delivery", &mut j);
    j.insert(
        "client_rss".into(),
        json!(sys::status_bytes("self", "VmRSS")),
    );
    srv.finish(&mut j, &mut failures, false).await;
    Ok(verdict(j, failures))
}
