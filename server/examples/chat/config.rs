//! The chat's settings, all from the environment (see the table in `chat.rs`).

use std::path::PathBuf;
use std::time::Duration;

use crate::rate_limit::Rate;
use crate::validate;

/// Where the files come from and every limit the chat enforces.
#[derive(Debug, Clone)]
pub struct Config {
    /// The page (`www/`).
    pub www: PathBuf,
    /// The wasm client's bundle, served at `/pkg/`.
    pub pkg: PathBuf,
    /// socket.io-client's `dist/`, served at `/vendor/socket.io-client/` for `js-client.html`.
    pub js_client: PathBuf,
    /// The channels, `#`-prefixed; the first is where a newcomer lands.
    pub channels: Vec<String>,
    /// Longest nickname, in characters.
    pub max_name: usize,
    /// Longest message, in characters.
    pub max_message: usize,
    /// Where the history database lives (`chat.sqlite3`).
    pub data_dir: PathBuf,
    /// Messages a page gets per channel on joining, and per "load older".
    pub history: usize,
    /// Messages kept per channel; older ones are deleted.
    pub keep: usize,
    /// Messages, direct messages, joins and leaves a socket may send.
    pub actions: Rate,
    /// History pages a socket may ask for.
    pub reads: Rate,
    /// Typing notifications a socket may send (over it they are dropped silently).
    pub typing: Rate,
    /// Largest Engine.IO message, in bytes.
    pub max_payload: usize,
    /// Engine.IO heartbeat.
    pub ping_interval: Duration,
    /// Engine.IO heartbeat timeout.
    pub ping_timeout: Duration,
    /// How long a cut connection can come back as it was, its missed events replayed
    /// (connection state recovery); zero: off.
    pub recovery: Duration,
    /// Whether the chat is one node of a cluster (`REDIS_URL` is set): members, nicknames
    /// and direct messages then span every node.
    pub cluster: bool,
    /// How often a node of a cluster fetches the other nodes' members again, whatever they
    /// said (a node may go away without a word).
    pub roster_refresh: Duration,
}

/// The channels when `CHAT_CHANNELS` names none.
pub const DEFAULT_CHANNELS: [&str; 3] = ["#general", "#random", "#rust"];

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `get` (the environment, or a map in tests). Unparsable values
    /// fall back to the default with a warning.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let path = |key: &str, default: PathBuf| get(key).map(PathBuf::from).unwrap_or(default);
        let num = |key: &str, default: u64| -> u64 {
            match get(key) {
                None => default,
                Some(v) => v.trim().parse().unwrap_or_else(|_| {
                    tracing::warn!("{key}={v:?} is not a number; using {default}");
                    default
                }),
            }
        };
        let size = |key: &str, default: usize| {
            usize::try_from(num(key, default as u64))
                .unwrap_or(default)
                .max(1)
        };
        let ms = |key: &str, default: u64| Duration::from_millis(num(key, default));
        Self {
            www: path("SIO_CHAT_WWW", repo.join("www")),
            pkg: path("SIO_CLIENT_PKG", repo.join("client-wasm/pkg")),
            js_client: path(
                "SIO_JS_CLIENT_DIR",
                repo.join("tests/node_modules/socket.io-client/dist"),
            ),
            channels: parse_channels(get("CHAT_CHANNELS").as_deref().unwrap_or_default()),
            max_name: size("CHAT_MAX_NAME", 24),
            max_message: size("CHAT_MAX_MESSAGE", 500),
            // Where the server is run, as a deployment keeps its data beside it.
            data_dir: path("DATA_DIR", PathBuf::from("data")),
            history: size("CHAT_HISTORY", 50),
            keep: size("CHAT_KEEP", 10_000),
            actions: Rate {
                burst: u32::try_from(num("CHAT_RATE_BURST", 5)).unwrap_or(5).max(1),
                refill: ms("CHAT_RATE_REFILL_MS", 1_000),
            },
            reads: Rate {
                burst: u32::try_from(num("CHAT_READ_BURST", 20))
                    .unwrap_or(20)
                    .max(1),
                refill: ms("CHAT_READ_REFILL_MS", 250),
            },
            typing: Rate {
                burst: u32::try_from(num("CHAT_TYPING_BURST", 5))
                    .unwrap_or(5)
                    .max(1),
                refill: ms("CHAT_TYPING_REFILL_MS", 500),
            },
            max_payload: size("MAX_PAYLOAD", 64 * 1024),
            ping_interval: ms("PING_INTERVAL_MS", 25_000),
            ping_timeout: ms("PING_TIMEOUT_MS", 20_000),
            recovery: ms("CHAT_RECOVERY_MS", 120_000),
            cluster: get("REDIS_URL").is_some_and(|u| !u.is_empty()),
            // At least 1 ms: tokio's interval refuses a zero period.
            roster_refresh: ms("CHAT_ROSTER_REFRESH_MS", 30_000).max(Duration::from_millis(1)),
        }
    }
}

/// `general, #random,,rust` → `["#general", "#random", "#rust"]`; invalid names are skipped
/// with a warning, duplicates dropped, and no valid name at all gives [`DEFAULT_CHANNELS`].
pub fn parse_channels(list: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = format!("#{}", raw.trim_start_matches('#').to_lowercase());
        if !validate::is_channel_name(&name) {
            tracing::warn!(
                "CHAT_CHANNELS: {raw:?} is not a channel name (a-z, 0-9, - and _); skipped"
            );
        } else if !out.contains(&name) {
            out.push(name);
        }
    }
    if out.is_empty() {
        out = DEFAULT_CHANNELS.map(String::from).to_vec();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn channels() {
        assert_eq!(
            parse_channels("general, #Random,,rust"),
            ["#general", "#random", "#rust"]
        );
        assert_eq!(parse_channels("a,a,#a"), ["#a"]);
        assert_eq!(parse_channels("bad name!, ok"), ["#ok"]);
        assert_eq!(parse_channels(""), DEFAULT_CHANNELS);
        assert_eq!(parse_channels("<b>, ,"), DEFAULT_CHANNELS);
    }

    #[test]
    fn defaults_and_overrides() {
        let env: HashMap<&str, &str> = [
            ("CHAT_MAX_MESSAGE", "80"),
            ("CHAT_RATE_BURST", "3"),
            ("CHAT_RATE_REFILL_MS", "60000"),
            ("CHAT_HISTORY", "nope"),
            ("CHAT_MAX_NAME", "0"),
            ("SIO_CLIENT_PKG", "/tmp/pkg"),
        ]
        .into();
        let cfg = Config::from_lookup(|k| env.get(k).map(|v| v.to_string()));
        assert_eq!(cfg.max_message, 80);
        assert_eq!(cfg.actions.burst, 3);
        assert_eq!(cfg.actions.refill, Duration::from_secs(60));
        assert_eq!(cfg.history, 50); // not a number: the default
        assert_eq!(cfg.keep, 10_000);
        assert_eq!(cfg.recovery, Duration::from_secs(120));
        assert_eq!(cfg.data_dir, PathBuf::from("data"));
        assert!(!cfg.cluster);
        assert_eq!(cfg.roster_refresh, Duration::from_secs(30));
        assert_eq!(cfg.max_name, 1); // every limit is at least 1
        assert_eq!(cfg.pkg, PathBuf::from("/tmp/pkg"));
        assert!(cfg.www.ends_with("www"));
        assert_eq!(cfg.channels[0], "#general");
    }
}
