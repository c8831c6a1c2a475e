//! The errors of the public API.

use crate::args::ArgError;
use crate::engine::SendError;

/// Why an emit failed.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The arguments could not be serialized.
    #[error(transparent)]
    Args(#[from] ArgError),
    /// The packet could not be queued on the connection.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The socket is not connected to its namespace.
    #[error("the socket is disconnected")]
    Disconnected,
}

/// Why an acknowledgement did not come.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// No acknowledgement arrived within the timeout.
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before acknowledging.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
}

/// A refusal from a namespace middleware, sent to the client as CONNECT_ERROR with the
/// message and optional data, as Node's `next(err)` does.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// What the client sees as `err.message`.
    pub message: String,
    /// What the client sees as `err.data`.
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data` (any JSON value) to the refusal.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}
