//! Who may open the admin namespace: Node's basic auth against a bcrypt hash, and the
//! login sessions the UI reconnects with.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::debug;

use super::AdminError;
use crate::{ConnectError, Socket};

/// Who may connect to the admin namespace.
#[derive(Clone)]
pub enum AdminAuth {
    /// Anyone (Node's `auth: false`): only behind a private network.
    Disabled,
    /// A user name and the bcrypt hash of its password (Node's `{ type: "basic" }`).
    Basic {
        /// The user name.
        username: String,
        /// The bcrypt hash of the password (`$2b$10$…`), never the password itself.
        password_hash: String,
    },
}

impl AdminAuth {
    /// [`AdminAuth::Basic`] with `username` and the bcrypt hash of the password.
    pub fn basic(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password_hash: password_hash.into(),
        }
    }
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Disabled => f.write_str("Disabled"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// The session id given to a socket that logged in, until the admin namespace's
/// connection handler sends it.
#[derive(Clone)]
struct NewSession(String);

/// The sessions opened by a login, each valid for a while, and the bound on the bcrypt
/// checks that run at once (each takes tens of milliseconds of CPU).
pub(super) struct Sessions {
    auth: AdminAuth,
    open: Mutex<HashMap<String, Instant>>,
    max: usize,
    ttl: Duration,
    checking: tokio::sync::Semaphore,
}

impl Sessions {
    pub fn new(auth: AdminAuth, max: usize, ttl: Duration) -> Result<Self, AdminError> {
        if let AdminAuth::Basic { password_hash, .. } = &auth {
            password_hash
                .parse::<bcrypt::HashParts>()
                .map_err(|_| AdminError::InvalidHash)?;
        }
        Ok(Self {
            auth,
            open: Mutex::new(HashMap::new()),
            max: max.max(1),
            ttl,
            checking: tokio::sync::Semaphore::new(2),
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_open(&self, id: &str) -> bool {
        self.open()
            .get(id)
            .is_some_and(|until| *until > Instant::now())
    }

    fn start(&self) -> String {
        let id = format!("{:016x}", rand::random::<u64>());
        let now = Instant::now();
        let mut open = self.open();
        open.retain(|_, until| *until > now);
        if open.len() >= self.max {
            let oldest = open
                .iter()
                .min_by_key(|(_, until)| **until)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                open.remove(&k);
            }
        }
        open.insert(id.clone(), now + self.ttl);
        id
    }

    /// The admin namespace's middleware: a valid session id, or the right credentials
    /// (which open a session, sent once connected), or Node's refusal.
    pub async fn admit(&self, socket: &Socket) -> Result<(), ConnectError> {
        let AdminAuth::Basic {
            username,
            password_hash,
        } = &self.auth
        else {
            return Ok(());
        };
        let auth: Value = socket.handshake().auth().unwrap_or_default();
        if let Some(id) = auth.get("sessionId").and_then(Value::as_str) {
            if self.is_open(id) {
                return Ok(());
            }
        }
        if auth.get("username").and_then(Value::as_str) == Some(username.as_str()) {
            let password = auth
                .get("password")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let hash = password_hash.clone();
            let permit = self.checking.acquire().await;
            let matches = tokio::task::spawn_blocking(move || {
                bcrypt::verify(password, &hash).unwrap_or(false)
            })
            .await
            .unwrap_or(false);
            drop(permit);
            if matches {
                let id = self.start();
                socket.with_extensions(|e| e.insert(NewSession(id)));
                return Ok(());
            }
        }
        debug!(sid = %socket.id(), "admin UI: invalid credentials");
        Err(ConnectError::new("invalid credentials"))
    }
}

/// The session a socket opened when it logged in, if it did.
pub(super) fn take_session(socket: &Socket) -> Option<String> {
    socket
        .with_extensions(|e| e.remove::<NewSession>())
        .map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_bounded_and_expire() {
        let s = Sessions::new(AdminAuth::Disabled, 2, Duration::from_secs(60)).unwrap();
        let [a, b, c] = [s.start(), s.start(), s.start()];
        assert_eq!([&a, &b, &c].map(|id| id.len()), [16; 3]);
        // The oldest made room for the third.
        assert_eq!([&a, &b, &c].map(|id| s.is_open(id)), [false, true, true]);
        let short = Sessions::new(AdminAuth::Disabled, 2, Duration::ZERO).unwrap();
        let id = short.start();
        assert!(!short.is_open(&id));
        assert!(!s.is_open("0123456789abcdef"));
    }
}
