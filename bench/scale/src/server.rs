//! The server under test as a child process: started on a port of 127.0.0.1 (pinned with
//! `taskset` when asked), its output kept in a log file, stopped by its PID (SIGTERM, then
//! SIGKILL after 5 s), and restarted on the same port for the storm's restart mode.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

const STOP_GRACE: Duration = Duration::from_secs(5);
const START_DEADLINE: Duration = Duration::from_secs(30);

/// How to start the server.
#[derive(Clone, Debug)]
pub struct Spec {
    /// program and arguments (`node path/server.mjs`, a binary)
    pub cmd: Vec<String>,
    /// extra environment (`PING_INTERVAL_MS=…`); PORT is always set
    pub env: Vec<(String, String)>,
    /// `taskset -c` list, e.g. "0"
    pub cpus: Option<String>,
    /// stdout and stderr of every start go here (appended)
    pub log: PathBuf,
}

/// A running server.
pub struct Server {
    spec: Spec,
    /// the port it listens on, the same after a restart
    pub port: u16,
    child: Option<Child>,
    /// how many times it was started
    pub starts: u32,
}

/// A port of 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| Error::Io("bind :0", e))?;
    Ok(l.local_addr()
        .map_err(|e| Error::Io("local_addr", e))?
        .port())
}

impl Server {
    /// Starts the server on a free port and waits until it accepts connections.
    pub async fn start(spec: Spec) -> Result<Server> {
        if spec.cmd.is_empty() {
            return Err(Error::Usage("--server-cmd is empty".into()));
        }
        if let Some(dir) = spec.log.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io("log dir", e))?;
        }
        File::create(&spec.log).map_err(|e| Error::Io("log file", e))?;
        let mut s = Server {
            port: free_port()?,
            spec,
            child: None,
            starts: 0,
        };
        s.spawn().await?;
        Ok(s)
    }

    /// The PID of the running process (that of the server itself: setpriv and taskset exec).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = File::options()
            .append(true)
            .open(&self.spec.log)
            .map_err(|e| Error::Io("log file", e))?;
        let log2 = log.try_clone().map_err(|e| Error::Io("log file", e))?;
        // setpriv: the server dies with this process even if it is killed, so no run leaves a
        // server behind. The death signal follows the thread that forks, which here is the
        // main thread (current-thread runtime) that lives until the end.
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--"]);
        if let Some(cpus) = &self.spec.cpus {
            cmd.args(["taskset", "-c", cpus]);
        }
        cmd.args(&self.spec.cmd)
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .env("PORT", self.port.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let child = cmd
            .spawn()
            .map_err(|e| Error::Server(format!("spawn {:?}: {e}", self.spec.cmd)))?;
        self.child = Some(child);
        self.starts += 1;
        self.wait_listening().await
    }

    async fn wait_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_DEADLINE;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(Error::Server(format!(
                    "{:?} exited before listening ({status}); log {}",
                    self.spec.cmd,
                    self.spec.log.display()
                )));
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Server(format!(
                    "{:?} did not listen on {addr} within {START_DEADLINE:?}",
                    self.spec.cmd
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM, SIGKILL after 5 s; returns once it has exited, with how it exited.
    pub async fn stop(&mut self) -> Option<String> {
        let mut child = self.child.take()?;
        if let Ok(Some(st)) = child.try_wait() {
            return Some(format!("had exited: {st}"));
        }
        let pid = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        loop {
            match child.try_wait() {
                Ok(Some(st)) => return Some(st.to_string()),
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                _ => {
                    let _ = child.kill();
                    return child
                        .wait()
                        .ok()
                        .map(|st| format!("SIGKILL after 5 s: {st}"));
                }
            }
        }
    }

    /// Stops the process and starts a new one on the same port.
    pub async fn restart(&mut self) -> Result<Option<String>> {
        let how = self.stop().await;
        self.spawn().await?;
        Ok(how)
    }

    /// Lines of the log that say warning, error or panic (any case), and the first few.
    pub fn log_problems(&self) -> (usize, Vec<String>) {
        let text = std::fs::read_to_string(&self.spec.log).unwrap_or_default();
        let bad: Vec<&str> = text
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                l.contains("warn") || l.contains("error") || l.contains("panic")
            })
            .collect();
        (
            bad.len(),
            bad.iter()
                .take(5)
                .map(|l| l.chars().take(300).collect())
                .collect(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Last resort (an early return): the async stop() is the normal way.
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
