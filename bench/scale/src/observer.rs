//! The observer: one well-behaved client that keeps an `echo` ack round trip going on `/`
//! for the whole run (every ack must come back) and asks `server-info` of each namespace it
//! joined, to read the server's counts of sessions, sockets and rooms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{Error, Result, within};
use crate::ws::{self, Connect, Target};

enum Cmd {
    Info(String, oneshot::Sender<Result<Value>>),
}

/// What the observer saw.
#[derive(Default, Clone, Debug)]
pub struct Stats {
    /// acks that came back
    pub acks: u64,
    /// acks that did not come back within the missing bound (a failure)
    pub missing: u64,
    /// acks that came back, later than the late bound
    pub late: u64,
    /// acks with an id nobody waited for (e.g. one counted missing that came later)
    pub stray: u64,
    /// the observer's connection ended before the run did (a failure)
    pub lost: Option<String>,
    /// round-trip times, ns
    pub rtts: Vec<u64>,
}

/// A running observer.
pub struct Observer {
    cmd: mpsc::Sender<Cmd>,
    stop: watch::Sender<bool>,
    stats: Arc<Mutex<Stats>>,
    task: tokio::task::JoinHandle<()>,
    step: Duration,
}

/// Pacing and bounds of the observer's round trips.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// time from one echo's send to the next one's (one in flight at a time)
    pub interval: Duration,
    /// an ack later than this is counted late
    pub late: Duration,
    /// an ack later than this is counted missing, and the next echo goes out
    pub missing: Duration,
}

impl Observer {
    /// Opens a websocket session, connects to each `(namespace, auth)` and starts the loop.
    pub async fn start(t: &Target, nsps: &[(String, Option<String>)], pace: Pace) -> Result<Self> {
        let (mut ws, _) = ws::open(t).await?;
        for (nsp, auth) in nsps {
            match ws::connect_nsp(&mut ws, t, nsp, auth.as_deref()).await? {
                Connect::Ok => {}
                Connect::Refused(why) => {
                    return Err(Error::Protocol(format!("observer refused on {nsp}: {why}")));
                }
            }
        }
        let (cmd, rx) = mpsc::channel(8);
        let (stop, stop_rx) = watch::channel(false);
        let stats = Arc::new(Mutex::new(Stats::default()));
        let task = tokio::spawn(run(ws, rx, stop_rx, stats.clone(), pace));
        Ok(Observer {
            cmd,
            stop,
            stats,
            task,
            step: t.step,
        })
    }

    /// The `server-info` ack of namespace `nsp` (one the observer joined).
    pub async fn info(&self, nsp: &str) -> Result<Value> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Cmd::Info(nsp.to_string(), tx))
            .await
            .map_err(|_| Error::Closed("observer"))?;
        within(self.step, "server-info ack", async {
            rx.await.map_err(|_| Error::Closed("observer"))?
        })
        .await
    }

    /// A copy of the counters so far.
    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops the loop; the final counters.
    pub async fn finish(self) -> Stats {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

async fn run(
    mut ws: ws::Ws,
    mut rx: mpsc::Receiver<Cmd>,
    mut stop: watch::Receiver<bool>,
    stats: Arc<Mutex<Stats>>,
    pace: Pace,
) {
    let mut next_id: u64 = 1;
    let mut echo: Option<(u64, Instant)> = None;
    let mut next_send = Instant::now();
    let mut infos: HashMap<(String, u64), oneshot::Sender<Result<Value>>> = HashMap::new();
    let lock = || stats.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let wake = match echo {
            Some((_, sent)) => sent + pace.missing,
            None => next_send,
        };
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            frame = ws::recv(&mut ws) => {
                let text = match frame {
                    Ok(t) => t,
                    Err(e) => {
                        lock().lost = Some(e.to_string());
                        break;
                    }
                };
                let s = text.as_str();
                if s == "2" {
                    if let Err(e) = ws::send(&mut ws, "3").await {
                        lock().lost = Some(e.to_string());
                        break;
                    }
                    continue;
                }
                let Some((nsp, id, args)) = ws::parse_ack(s) else { continue };
                if nsp == "/" && echo.is_some_and(|(e, _)| e == id) {
                    if let Some((_, sent)) = echo.take() {
                        let rtt = sent.elapsed();
                        let mut st = lock();
                        st.acks += 1;
                        if rtt > pace.late {
                            st.late += 1;
                        }
                        st.rtts.push(rtt.as_nanos() as u64);
                        next_send = sent + pace.interval;
                    }
                } else if let Some(tx) = infos.remove(&(nsp.to_string(), id)) {
                    let v = serde_json::from_str::<Value>(args)
                        .map_err(|e| Error::Protocol(format!("server-info ack: {e}")))
                        .and_then(|v| {
                            v.get(0).cloned().ok_or_else(|| Error::Protocol("empty server-info ack".into()))
                        });
                    let _ = tx.send(v);
                } else {
                    lock().stray += 1;
                }
            }
            cmd = rx.recv() => {
                let Some(Cmd::Info(nsp, tx)) = cmd else { break };
                let id = next_id;
                next_id += 1;
                let text = format!("42{}{id}[\"server-info\"]", ws::nsp_prefix(&nsp));
                if let Err(e) = ws::send(&mut ws, &text).await {
                    let _ = tx.send(Err(Error::Closed("observer")));
                    lock().lost = Some(e.to_string());
                    break;
                }
                infos.insert((nsp, id), tx);
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                if echo.take().is_some() {
                    lock().missing += 1;
                }
                let id = next_id;
                next_id += 1;
                if let Err(e) = ws::send(&mut ws, &format!("42{id}[\"echo\",{id}]")).await {
                    lock().lost = Some(e.to_string());
                    break;
                }
                echo = Some((id, Instant::now()));
            }
        }
    }
    // An echo still out at the end is waited for no longer: it is neither missing nor late.
}
