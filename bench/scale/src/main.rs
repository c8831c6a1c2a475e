//! `sio-scale`: the load generator of the scale benchmarks (see `bench/scale/README.md`).
//!
//! Scenarios: `broadcast` (one broadcast to N sockets at a time, time to the last
//! delivery), `storm` (N clients lose their connections at once and reconnect), `churn`
//! (connection attempts in abrupt patterns while an observer checks every ack, then the
//! server's counts and memory are back where they were). Each prints one JSON line on
//! stdout, with `ok` and the `failures` of its checks, and exits 1 when a check failed.

mod broadcast;
mod churn;
mod error;
mod observer;
mod poll;
mod server;
mod storm;
mod sys;
mod ws;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use error::{Error, Result};

/// One JSON line under construction.
pub type Json = serde_json::Map<String, Value>;

const USAGE: &str = "\
usage: sio-scale <broadcast|storm|churn> [options]

server (either start one, or name a running one):
  --server-cmd \"CMD ARGS\"   start this server (PORT=<free port> in its env), stop it by PID at the end
  --server-env K=V          extra env for it (repeatable)
  --server-cpus LIST        pin it with taskset -c LIST (e.g. 0)
  --log PATH                its stdout+stderr (default target/bench-scale/logs/<tag>-<scenario>.log)
  --port N --pid P          a server that is already running (no restart mode, no log check)
common:
  --tag NAME                label (\"server\" in the JSON line)
  --path P                  Engine.IO path (/socket.io/)
  --step-timeout-ms MS      bound of every single wait for the server (10000)
  --max-seconds S           the whole run, watchdog included (900)
  --concurrency K           handshakes in flight (64)
  --server-info 0|1         the server answers `server-info` (1; 0 for socketioxide)
  --seed N                  jitter seed (1)
  --source-ips N            connections take turns over 127.0.0.1..N as source (8)
broadcast: --clients N (19500) --broadcasts B (20) --warmup W (2) --delivery-timeout-ms MS (30000)
storm:     --clients N (19500) --mode rst|restart (rst) --delay-ms (1000) --delay-max-ms (5000)
           --reconnect-concurrency K (256) --back-timeout-s S (180)
churn:     --attempts M (100000) --warmup-attempts W (M/10, at most 50000)
           --patterns a,b,… (all: see README) --parked P (1000: silent sockets and abandoned sessions at once)
           --observer-interval-ms (2) --late-ms (1000) --missing-ms (10000)
           --settle-timeout-s S (60) --rss-tolerance F (0.10) --abort-delay-ms (5)
           --nsps LIST (/,/custom,/auth: the namespaces of join-rst, clean and the observer)
";

/// Parsed command line.
pub struct Opts {
    /// broadcast | storm | churn
    pub scenario: String,
    kv: HashMap<String, Vec<String>>,
}

impl Opts {
    fn parse() -> Result<Opts> {
        let mut args = std::env::args().skip(1);
        let scenario = args.next().unwrap_or_default();
        if !["broadcast", "storm", "churn"].contains(&scenario.as_str()) {
            return Err(Error::Usage(format!("unknown scenario {scenario:?}")));
        }
        let mut kv: HashMap<String, Vec<String>> = HashMap::new();
        while let Some(a) = args.next() {
            let Some(k) = a.strip_prefix("--") else {
                return Err(Error::Usage(format!("unexpected argument {a:?}")));
            };
            let (k, v) = match k.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => {
                    let v = args
                        .next()
                        .ok_or_else(|| Error::Usage(format!("--{k} needs a value")))?;
                    (k.to_string(), v)
                }
            };
            kv.entry(k).or_default().push(v);
        }
        Ok(Opts { scenario, kv })
    }

    /// The last value of `--name`.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.kv.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    /// The last value of `--name` parsed, or `default`.
    pub fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        match self.str(name) {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| Error::Usage(format!("--{name}: bad value {s:?}"))),
        }
    }

    /// `--name` in milliseconds.
    pub fn ms(&self, name: &str, default: u64) -> Result<Duration> {
        Ok(Duration::from_millis(self.num(name, default)?))
    }

    /// Every value of `--name`.
    pub fn all(&self, name: &str) -> &[String] {
        self.kv.get(name).map_or(&[], Vec::as_slice)
    }

    fn check_known(&self) -> Result<()> {
        const KNOWN: &[&str] = &[
            "server-cmd",
            "server-env",
            "server-cpus",
            "log",
            "port",
            "pid",
            "tag",
            "path",
            "step-timeout-ms",
            "max-seconds",
            "concurrency",
            "server-info",
            "seed",
            "clients",
            "broadcasts",
            "warmup",
            "delivery-timeout-ms",
            "mode",
            "delay-ms",
            "delay-max-ms",
            "reconnect-concurrency",
            "back-timeout-s",
            "attempts",
            "warmup-attempts",
            "patterns",
            "parked",
            "observer-interval-ms",
            "late-ms",
            "missing-ms",
            "settle-timeout-s",
            "rss-tolerance",
            "abort-delay-ms",
            "nsps",
        ];
        match self.kv.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            Some(k) => Err(Error::Usage(format!("unknown option --{k}"))),
            None => Ok(()),
        }
    }

    /// The tag of the server.
    pub fn tag(&self) -> String {
        self.str("tag").unwrap_or("server").to_string()
    }

    /// Whether the server answers `server-info`.
    pub fn server_info(&self) -> Result<bool> {
        Ok(self.num::<u8>("server-info", 1)? != 0)
    }

    /// How to start the server, if asked to.
    pub fn spec(&self) -> Option<server::Spec> {
        let cmd = self.str("server-cmd")?;
        let env = self
            .all("server-env")
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let log = self.str("log").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(format!(
                "target/bench-scale/logs/{}-{}.log",
                self.tag(),
                self.scenario
            ))
        });
        Some(server::Spec {
            cmd: cmd.split_whitespace().map(String::from).collect(),
            env,
            cpus: self.str("server-cpus").map(String::from),
            log,
        })
    }

    /// The server: started here (`--server-cmd`) or already running (`--port`, `--pid`).
    pub async fn server(&self) -> Result<Srv> {
        match self.spec() {
            Some(spec) => Ok(Srv::Owned(server::Server::start(spec).await?)),
            None => Ok(Srv::External {
                port: self
                    .str("port")
                    .ok_or_else(|| Error::Usage("need --server-cmd or --port".into()))?
                    .parse()
                    .map_err(|_| Error::Usage("--port: bad value".into()))?,
                pid: self.num::<u32>("pid", 0).ok().filter(|&p| p > 0),
            }),
        }
    }

    /// Where the server is, and the bound of one step.
    pub fn target(&self, port: u16) -> Result<ws::Target> {
        let mut t = ws::Target::new(
            port,
            self.str("path").unwrap_or("/socket.io/"),
            self.ms("step-timeout-ms", 10_000)?,
        );
        t.source_ips = self.num("source-ips", 8)?;
        if !(1..=254).contains(&t.source_ips) {
            return Err(Error::Usage("--source-ips must be in 1..=254".into()));
        }
        Ok(t)
    }

    /// The leading fields of every JSON line.
    pub fn head(&self, srv: &mut Srv) -> Json {
        let mut j = Json::new();
        j.insert("scenario".into(), json!(self.scenario));
        j.insert("server".into(), json!(self.tag()));
        j.insert("server_cmd".into(), json!(self.str("server-cmd")));
        let pid = srv.pid();
        j.insert("server_pid".into(), json!(pid));
        let cpus = pid.and_then(|p| sys::status_str(&p.to_string(), "Cpus_allowed_list"));
        j.insert("server_cpus".into(), json!(cpus));
        j.insert(
            "client_cpus".into(),
            json!(sys::status_str("self", "Cpus_allowed_list")),
        );
        j
    }
}

/// The server under test.
pub enum Srv {
    /// started (and stopped) by this process
    Owned(server::Server),
    /// started by someone else
    External {
        /// where it listens
        port: u16,
        /// its PID, for CPU and memory
        pid: Option<u32>,
    },
}

impl Srv {
    /// Its port.
    pub fn port(&self) -> u16 {
        match self {
            Srv::Owned(s) => s.port,
            Srv::External { port, .. } => *port,
        }
    }

    /// Its PID now (a restart changes it).
    pub fn pid(&self) -> Option<u32> {
        match self {
            Srv::Owned(s) => s.pid(),
            Srv::External { pid, .. } => *pid,
        }
    }

    /// A memory field of its /proc status, bytes.
    pub fn mem(&self, field: &str) -> Option<u64> {
        sys::status_bytes(&self.pid()?.to_string(), field)
    }

    /// Stops an owned server; adds `server_alive`, its exit, and the log check to `j`,
    /// and a failure when `log_must_be_clean` and the log has warnings or errors.
    pub async fn finish(
        &mut self,
        j: &mut Json,
        failures: &mut Vec<String>,
        log_must_be_clean: bool,
    ) {
        if let Srv::Owned(s) = self {
            j.insert("server_alive".into(), json!(s.alive()));
            if !s.alive() {
                failures.push("the server died during the run".into());
            }
            let exit = s.stop().await;
            j.insert("server_exit".into(), json!(exit));
            let (n, first) = s.log_problems();
            j.insert("server_log_problems".into(), json!(n));
            j.insert("server_log_first".into(), json!(first));
            if log_must_be_clean && n > 0 {
                failures.push(format!("{n} warning/error lines in the server log"));
            }
        }
    }
}

/// Puts the verdict into `j` and renders the line.
pub fn verdict(mut j: Json, failures: Vec<String>) -> (bool, String) {
    let ok = failures.is_empty();
    j.insert("ok".into(), json!(ok));
    j.insert("failures".into(), json!(failures));
    (ok, Value::Object(j).to_string())
}

fn main() {
    let o = match Opts::parse().and_then(|o| o.check_known().map(|()| o)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let max_s = o.num::<f64>("max-seconds", 900.0).unwrap_or(900.0);
    {
        // Whatever happens, the process ends shortly after --max-seconds (and the server
        // with it: it was started with a parent-death signal).
        let (scenario, tag) = (o.scenario.clone(), o.tag());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(max_s + 30.0));
            let line = json!({"scenario": scenario, "server": tag, "ok": false,
                "failures": ["watchdog: the run exceeded --max-seconds"]});
            println!("{line}");
            let _ = std::io::stdout().flush();
            std::process::exit(3);
        });
    }
    // One thread: the client is pinned to one core, and a single thread keeps the
    // parent-death signal of the server tied to this (main) thread.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            std::process::exit(3);
        }
    };
    let outcome = rt.block_on(async {
        let run = async {
            match o.scenario.as_str() {
                "broadcast" => broadcast::run(&o).await,
                "storm" => storm::run(&o).await,
                _ => churn::run(&o).await,
            }
        };
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| Error::Io("SIGTERM handler", e))?;
        tokio::select! {
            r = run => r,
            _ = tokio::signal::ctrl_c() => Err(Error::Usage("interrupted".into())),
            _ = term.recv() => Err(Error::Usage("terminated".into())),
        }
    });
    let code = match outcome {
        Ok((ok, line)) => {
            println!("{line}");
            i32::from(!ok)
        }
        Err(e) => {
            let line = json!({"scenario": o.scenario, "server": o.tag(), "ok": false,
                "failures": [e.to_string()], "error": e.to_string()});
            println!("{line}");
            3
        }
    };
    let _ = std::io::stdout().flush();
    // Thousands of sockets and tasks: the kernel closes them faster than an orderly teardown.
    std::process::exit(code);
}
