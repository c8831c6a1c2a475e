//! `churn`: connection attempts in abrupt patterns, mixed (attempt k uses pattern
//! k mod P), at most `--concurrency` at once, while the observer keeps an ack round trip
//! going. Before the measured attempts a warm-up runs the same mix; the baseline (counts
//! and RSS) is taken once the warm-up's sessions are gone. Afterwards the server must count
//! only the observer again (sessions, sockets, rooms of each namespace), and its RSS must
//! be within the tolerance of the baseline.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result, within};
use crate::observer::{Observer, Pace};
use crate::poll::{self, Poll};
use crate::sys::{self, Snap};
use crate::ws::{self, Connect, Target};
use crate::{Opts, verdict};

/// The abrupt ways a client comes and goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pattern {
    /// websocket session opened, closed (RST) before any CONNECT
    WsOpenRst,
    /// polling handshake only, then the client is gone: the server's heartbeat ends it
    PollOpenAbandon,
    /// CONNECT to a namespace, join two rooms (one of them unique), RST
    JoinRst,
    /// polling session CONNECTed, a GET pending, its TCP connection reset
    PollGetAbort,
    /// polling session CONNECTed, websocket probe `2probe`/`3probe`, both dropped before `5`
    UpgradeAbort,
    /// CONNECT, join a room, then never answer a ping: the server must time it out
    PingTimeout,
    /// CONNECT to a namespace that does not exist: CONNECT_ERROR, then RST
    InvalidNsp,
    /// CONNECT to `/auth` with a wrong token: the middleware's CONNECT_ERROR, then RST
    AuthRefused,
    /// a polite client: CONNECT, an echo ack, DISCONNECT, websocket close
    Clean,
}

const ALL: &[(Pattern, &str)] = &[
    (Pattern::WsOpenRst, "ws-open-rst"),
    (Pattern::PollOpenAbandon, "poll-open-abandon"),
    (Pattern::JoinRst, "join-rst"),
    (Pattern::PollGetAbort, "poll-get-abort"),
    (Pattern::UpgradeAbort, "upgrade-abort"),
    (Pattern::PingTimeout, "ping-timeout"),
    (Pattern::InvalidNsp, "invalid-nsp"),
    (Pattern::AuthRefused, "auth-refused"),
    (Pattern::Clean, "clean"),
];

fn name(p: Pattern) -> &'static str {
    ALL.iter().find(|(q, _)| *q == p).map_or("?", |(_, n)| n)
}

/// Per-pattern outcome counters.
#[derive(Default)]
struct Tally {
    /// µs the attempts of this pattern took, summed (the silent wait of ping-timeout included)
    busy_us: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

struct Ctx {
    t: Target,
    /// namespaces CONNECTed to by join-rst and clean, in turn, with their auth
    nsps: Vec<(String, Option<String>)>,
    parked: Semaphore,
    parked_total: u32,
    n_patterns: usize,
    /// the server's, for progress lines
    pid: Option<u32>,
    abort_delay: Duration,
    tallies: Vec<(Pattern, Tally)>,
}

/// The auth payload the contract's `/auth` accepts.
const GOOD_AUTH: &str = r#"{"token":"secret"}"#;

fn auth_for(nsp: &str) -> Option<String> {
    (nsp == "/auth").then(|| GOOD_AUTH.to_string())
}

async fn connected_ws(c: &Ctx, k: u64) -> Result<(ws::Ws, ws::Open, String)> {
    // Attempts of one pattern are k, k + P, k + 2P…: take turns over the namespaces.
    let (nsp, auth) = &c.nsps[(k as usize / c.n_patterns) % c.nsps.len()];
    let (mut w, open) = ws::open(&c.t).await?;
    match ws::connect_nsp(&mut w, &c.t, nsp, auth.as_deref()).await? {
        Connect::Ok => Ok((w, open, ws::nsp_prefix(nsp))),
        Connect::Refused(why) => Err(Error::Protocol(format!("{nsp} refused: {why}"))),
    }
}

/// Sends `42<prefix><id>[…]` and waits for its ack, answering pings.
async fn call(w: &mut ws::Ws, t: &Target, prefix: &str, id: u64, args: &str) -> Result<String> {
    ws::send(w, &format!("42{prefix}{id}{args}")).await?;
    within(t.step, "ack", async {
        loop {
            let text = ws::recv_app(w).await?;
            if let Some((_, got, a)) = ws::parse_ack(text.as_str()) {
                if got == id {
                    return Ok(a.to_string());
                }
            }
        }
    })
    .await
}

/// Polling: handshake, CONNECT to `/`, and the CONNECT's answer; the session id.
async fn polling_connected(p: &mut Poll) -> Result<ws::Open> {
    let open = ws::parse_open(&p.get(None).await?)?;
    let ok = p.post(&open.sid, "40").await?;
    if ok != "ok" {
        return Err(Error::Http(format!("POST answered {ok:.80}")));
    }
    // The CONNECT answer may share a payload with a ping (answered), or follow one.
    for _ in 0..4 {
        let body = p.get(Some(&open.sid)).await?;
        let mut pinged = false;
        for packet in body.split(poll::SEP) {
            if packet.starts_with("40{") {
                return Ok(open);
            }
            if packet.starts_with("44") {
                return Err(Error::Protocol(format!("CONNECT refused: {packet:.80}")));
            }
            pinged |= packet == "2";
        }
        if pinged {
            p.post(&open.sid, "3").await?;
        }
    }
    Err(Error::Protocol("no CONNECT answer over polling".into()))
}

/// After the client has abandoned a session that only the server's heartbeat ends: hold a
/// parked permit for that long (pingInterval + pingTimeout, from the open packet). It keeps
/// the number of sessions the server holds at once bounded by the permits, whatever the
/// attempt rate, so the warm-up's memory baseline and the measured part see the same
/// population. The server's end of the session cannot be observed from here: this is
/// pacing, and the counts are checked at the end.
async fn linger(c: &Ctx, slot: &mut Option<OwnedSemaphorePermit>, open: &ws::Open) {
    let _parked = c.parked.acquire().await;
    drop(slot.take());
    tokio::time::sleep(Duration::from_millis(
        open.ping_interval + open.ping_timeout,
    ))
    .await;
}

/// One attempt of pattern `p`; `slot` is its share of `--concurrency`, which a socket that
/// goes silent hands back (it waits on `--parked` instead).
async fn attempt(
    c: &Ctx,
    p: Pattern,
    k: u64,
    slot: &mut Option<OwnedSemaphorePermit>,
) -> Result<()> {
    match p {
        Pattern::WsOpenRst => {
            let _ = ws::open(&c.t).await?;
        }
        Pattern::PollOpenAbandon => {
            let mut poll = Poll::connect(&c.t).await?;
            let open = ws::parse_open(&poll.get(None).await?)?;
            drop(poll);
            linger(c, slot, &open).await;
        }
        Pattern::JoinRst => {
            let (mut w, _, prefix) = connected_ws(c, k).await?;
            call(
                &mut w,
                &c.t,
                &prefix,
                1,
                &format!("[\"join\",\"churn-{k}\"]"),
            )
            .await?;
            call(&mut w, &c.t, &prefix, 2, "[\"join\",\"lobby\"]").await?;
        }
        Pattern::PollGetAbort => {
            let mut poll = Poll::connect(&c.t).await?;
            let sid = polling_connected(&mut poll).await?.sid;
            poll.send_get(Some(&sid)).await?;
            // Nothing on the wire says when the server has taken the GET up; a few ms make
            // it likely that the reset hits a pending GET rather than an unread request.
            tokio::time::sleep(c.abort_delay).await;
        }
        Pattern::UpgradeAbort => {
            let mut poll = Poll::connect(&c.t).await?;
            let open = polling_connected(&mut poll).await?;
            let query = format!("EIO=4&transport=websocket&sid={}", poll::encode(&open.sid));
            let mut w = ws::upgrade(&c.t, &query).await?;
            ws::send(&mut w, "2probe").await?;
            let text = within(c.t.step, "3probe", ws::recv(&mut w)).await?;
            if text.as_str() != "3probe" {
                return Err(Error::Protocol(format!(
                    "expected 3probe, got {:.80}",
                    text.as_str()
                )));
            }
            drop((w, poll));
            linger(c, slot, &open).await;
        }
        Pattern::PingTimeout => {
            let (mut w, open, prefix) = connected_ws(c, k).await?;
            call(
                &mut w,
                &c.t,
                &prefix,
                1,
                &format!("[\"join\",\"silent-{k}\"]"),
            )
            .await?;
            let _parked = c.parked.acquire().await;
            drop(slot.take());
            // Silent from here on: pings are read but not answered, until the server closes.
            let bound = Duration::from_millis(open.ping_interval + open.ping_timeout) + c.t.step;
            let closed =
                tokio::time::timeout(bound, async { while ws::recv(&mut w).await.is_ok() {} })
                    .await;
            if closed.is_err() {
                return Err(Error::Timeout("the server closing a silent socket", bound));
            }
        }
        Pattern::InvalidNsp => {
            let (mut w, _) = ws::open(&c.t).await?;
            match ws::connect_nsp(&mut w, &c.t, "/nope", None).await? {
                Connect::Refused(_) => {}
                Connect::Ok => return Err(Error::Protocol("/nope accepted".into())),
            }
        }
        Pattern::AuthRefused => {
            let (mut w, _) = ws::open(&c.t).await?;
            match ws::connect_nsp(&mut w, &c.t, "/auth", Some(r#"{"token":"wrong"}"#)).await? {
                Connect::Refused(_) => {}
                Connect::Ok => return Err(Error::Protocol("/auth accepted a wrong token".into())),
            }
        }
        Pattern::Clean => {
            let (mut w, _, prefix) = connected_ws(c, k).await?;
            call(&mut w, &c.t, &prefix, 1, "[\"echo\",\"x\"]").await?;
            ws::send(&mut w, &format!("41{prefix}")).await?;
            ws::close(&mut w).await?;
            // The server ends the close handshake and the TCP connection.
            let _ =
                tokio::time::timeout(c.t.step, async { while ws::recv(&mut w).await.is_ok() {} })
                    .await;
        }
    }
    Ok(())
}

/// Runs attempts `from..to` (pattern k mod P), at most `concurrency` at once; returns once
/// all have ended.
async fn run_attempts(
    c: &Arc<Ctx>,
    patterns: &[Pattern],
    from: u64,
    to: u64,
    concurrency: usize,
    label: &str,
) {
    let active = Arc::new(Semaphore::new(concurrency));
    let t0 = Instant::now();
    let mut note = t0 + Duration::from_secs(10);
    for k in from..to {
        let Ok(permit) = active.clone().acquire_owned().await else {
            break;
        };
        let c2 = c.clone();
        let p = patterns[(k % patterns.len() as u64) as usize];
        tokio::spawn(async move {
            let mut slot = Some(permit);
            let began = Instant::now();
            let r = attempt(&c2, p, k, &mut slot).await;
            drop(slot);
            if let Some((_, tally)) = c2.tallies.iter().find(|(q, _)| *q == p) {
                tally
                    .busy_us
                    .fetch_add(began.elapsed().as_micros() as u64, Relaxed);
                match r {
                    Ok(()) => tally.ok.fetch_add(1, Relaxed),
                    Err(e) => {
                        tally
                            .first_error
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(format!("attempt {k}: {e}"));
                        tally.failed.fetch_add(1, Relaxed)
                    }
                };
            }
        });
        if Instant::now() >= note {
            let done = k - from;
            let rss = c
                .pid
                .and_then(|p| sys::status_bytes(&p.to_string(), "VmRSS"));
            eprintln!(
                "[churn] {label}: {done}/{} attempts, {:.0}/s, server RSS {} KiB",
                to - from,
                done as f64 / t0.elapsed().as_secs_f64(),
                rss.unwrap_or(0) >> 10
            );
            note += Duration::from_secs(10);
        }
    }
    // Every permit back: every attempt has ended. A silent socket takes its parked permit
    // before it gives its active one back, so once all active ones are back, the parked
    // ones are the only attempts left.
    let _ = active.acquire_many(concurrency as u32).await;
    let _ = c.parked.acquire_many(c.parked_total).await;
}

/// The observer's namespaces' counts until they are only the observer's (1 session; 1
/// socket and 1 room, its own-id room, per namespace), for at most `bound`. Returns whether
/// they got there, and the last answers.
async fn settle(
    obs: &Observer,
    nsps: &[(String, Option<String>)],
    bound: Duration,
) -> Result<(bool, Value)> {
    let deadline = Instant::now() + bound;
    loop {
        let mut all = serde_json::Map::new();
        let mut good = true;
        for (nsp, _) in nsps {
            let info = obs.info(nsp).await?;
            let n = |k: &str| info.get(k).and_then(Value::as_u64);
            good &=
                n("engineCount") == Some(1) && n("nspSockets") == Some(1) && n("rooms") == Some(1);
            all.insert(
                nsp.clone(),
                json!({"engineCount": n("engineCount"), "nspSockets": n("nspSockets"), "rooms": n("rooms")}),
            );
        }
        if good || Instant::now() > deadline {
            return Ok((good, Value::Object(all)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the scenario.
pub async fn run(o: &Opts) -> Result<(bool, String)> {
    let attempts: u64 = o.num("attempts", 100_000)?;
    let warmup: u64 = o.num("warmup-attempts", (attempts / 10).min(50_000))?;
    let concurrency: usize = o.num("concurrency", 64)?;
    let tolerance: f64 = o.num("rss-tolerance", 0.10)?;
    let settle_bound = Duration::from_secs_f64(o.num("settle-timeout-s", 60.0)?);
    let with_info = o.server_info()?;
    let patterns: Vec<Pattern> = match o.str("patterns") {
        None => ALL.iter().map(|(p, _)| *p).collect(),
        Some(list) => list
            .split(',')
            .map(|n| {
                ALL.iter()
                    .find(|(_, m)| *m == n.trim())
                    .map(|(p, _)| *p)
                    .ok_or_else(|| Error::Usage(format!("unknown pattern {n:?}")))
            })
            .collect::<Result<_>>()?,
    };
    let nsps: Vec<(String, Option<String>)> = o
        .str("nsps")
        .unwrap_or("/,/custom,/auth")
        .split(',')
        .map(|n| (n.trim().to_string(), auth_for(n.trim())))
        .collect();
    let mut srv = o.server().await?;
    let t = o.target(srv.port())?;
    let pace = Pace {
        interval: o.ms("observer-interval-ms", 2)?,
        late: o.ms("late-ms", 1000)?,
        missing: o.ms("missing-ms", 10_000)?,
    };
    let obs_nsps: Vec<_> = if with_info {
        nsps.clone()
    } else {
        vec![("/".to_string(), None)]
    };
    let obs = Observer::start(&t, &obs_nsps, pace).await?;
    let parked: u32 = o.num("parked", 1000)?;
    let c = Arc::new(Ctx {
        t: t.clone(),
        nsps: nsps.clone(),
        parked: Semaphore::new(parked as usize),
        parked_total: parked,
        n_patterns: patterns.len(),
        pid: srv.pid(),
        abort_delay: o.ms("abort-delay-ms", 5)?,
        tallies: patterns.iter().map(|p| (*p, Tally::default())).collect(),
    });
    let mut failures = Vec::new();
    let rss_start = srv.mem("VmRSS");

    run_attempts(&c, &patterns, 0, warmup, concurrency, "warm-up").await;
    let warm_ok: u64 = c.tallies.iter().map(|(_, t)| t.ok.load(Relaxed)).sum();
    let warm_failed: u64 = c.tallies.iter().map(|(_, t)| t.failed.load(Relaxed)).sum();
    let (base_good, base_counts) = if with_info {
        settle(&obs, &obs_nsps, settle_bound).await?
    } else {
        (true, Value::Null)
    };
    if !base_good {
        failures.push(format!(
            "after the warm-up the counts did not come back: {base_counts}"
        ));
    }
    let rss_base = srv.mem("VmRSS");
    let obs_before = obs.stats();
    eprintln!(
        "[churn] warm-up: {warmup} attempts, baseline RSS {} MiB",
        rss_base.unwrap_or(0) >> 20
    );

    let cpu0 = Snap::take(srv.pid());
    let t0 = Instant::now();
    run_attempts(
        &c,
        &patterns,
        warmup,
        warmup + attempts,
        concurrency,
        "measured",
    )
    .await;
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = Snap::take(srv.pid());
    let rss_end_load = srv.mem("VmRSS");
    let t_settle = Instant::now();
    let (good, counts) = if with_info {
        settle(&obs, &obs_nsps, settle_bound).await?
    } else {
        (true, Value::Null)
    };
    let settle_s = t_settle.elapsed().as_secs_f64();
    if !good {
        failures.push(format!(
            "the counts did not come back to the observer's own within {settle_bound:?}: {counts}"
        ));
    }
    let rss_final = srv.mem("VmRSS");
    let hwm = srv.mem("VmHWM");
    let stats = obs.finish().await;

    let mut j = o.head(&mut srv);
    j.insert("attempts".into(), json!(attempts));
    j.insert("warmup_attempts".into(), json!(warmup));
    j.insert("warmup_failed".into(), json!(warm_failed));
    j.insert("warmup_ok".into(), json!(warm_ok));
    j.insert("concurrency".into(), json!(concurrency));
    j.insert(
        "patterns".into(),
        json!(patterns.iter().map(|p| name(*p)).collect::<Vec<_>>()),
    );
    j.insert(
        "nsps".into(),
        json!(nsps.iter().map(|(n, _)| n).collect::<Vec<_>>()),
    );
    j.insert("elapsed_s".into(), sys::round(Some(elapsed), 2));
    j.insert(
        "attempts_per_s".into(),
        sys::round(Some(attempts as f64 / elapsed.max(1e-9)), 0),
    );
    let mut per = serde_json::Map::new();
    let mut failed_total = 0;
    for (p, tally) in &c.tallies {
        let failed = tally.failed.load(Relaxed);
        failed_total += failed;
        let n = (tally.ok.load(Relaxed) + failed).max(1);
        per.insert(
            name(*p).into(),
            json!({"ok": tally.ok.load(Relaxed), "failed": failed,
                   "mean_ms": sys::round(Some(tally.busy_us.load(Relaxed) as f64 / n as f64 / 1e3), 2),
                   "first_error": tally.first_error.lock().unwrap_or_else(|e| e.into_inner()).clone()}),
        );
    }
    if failed_total > 0 {
        failures.push(format!(
            "{failed_total} attempts did not go as the protocol says (see per_pattern)"
        ));
    }
    j.insert("failed".into(), json!(failed_total));
    j.insert("per_pattern".into(), Value::Object(per));
    j.insert("observer_acks".into(), json!(stats.acks));
    j.insert(
        "observer_acks_measured".into(),
        json!(stats.acks - obs_before.acks),
    );
    j.insert("observer_missing".into(), json!(stats.missing));
    j.insert("observer_late".into(), json!(stats.late));
    j.insert("observer_stray".into(), json!(stats.stray));
    j.insert("observer_lost".into(), json!(stats.lost));
    let mut rtts = stats.rtts.clone();
    sys::lat_ms(&mut j, "observer_rtt", &mut rtts);
    if stats.missing > 0 {
        failures.push(format!("{} observer acks missing", stats.missing));
    }
    if let Some(why) = &stats.lost {
        failures.push(format!("the observer lost its connection: {why}"));
    }
    j.insert("counts_checked".into(), json!(with_info));
    j.insert("counts_baseline".into(), base_counts);
    j.insert("counts_after".into(), counts);
    j.insert("counts_back".into(), json!(with_info.then_some(good)));
    j.insert("settle_s".into(), sys::round(Some(settle_s), 2));
    j.insert("server_rss_start".into(), json!(rss_start));
    j.insert("server_rss_baseline".into(), json!(rss_base));
    j.insert("server_rss_end_of_load".into(), json!(rss_end_load));
    j.insert("server_rss_after".into(), json!(rss_final));
    j.insert("server_hwm".into(), json!(hwm));
    let growth = rss_base
        .zip(rss_final)
        .map(|(b, f)| f as f64 / b.max(1) as f64 - 1.0);
    j.insert(
        "rss_growth_pct".into(),
        sys::round(growth.map(|g| 100.0 * g), 2),
    );
    j.insert(
        "rss_tolerance_pct".into(),
        sys::round(Some(100.0 * tolerance), 1),
    );
    match growth {
        Some(g) if g > tolerance => failures.push(format!(
            "RSS {:.1} % over its baseline (tolerance {:.0} %)",
            100.0 * g,
            100.0 * tolerance
        )),
        None => failures.push("no RSS readings of the server".into()),
        _ => {}
    }
    cpu0.fields(&cpu1, attempts, "attempt", &mut j);
    j.insert(
        "client_rss".into(),
        json!(sys::status_bytes("self", "VmRSS")),
    );
    srv.finish(&mut j, &mut failures, true).await;
    Ok(verdict(j, failures))
}
