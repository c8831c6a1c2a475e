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

/// Why a broadcast with acks ([`BroadcastOperator::emit_with_ack`](crate::BroadcastOperator::emit_with_ack))
/// did not hear from every socket it reached.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastAckError {
    /// The packet could not be encoded.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// Some nodes of the cluster did not say how many of their sockets got the packet
    /// within the timeout, or the cluster could not be reached. `responses` holds every
    /// answer that came, this node's included.
    #[error("{error}")]
    Cluster {
        /// The answers that came (and the timeouts of the sockets known to have the packet).
        responses: Vec<crate::AckResponse>,
        /// Which nodes are missing: [`AdapterError::Timeout`](crate::AdapterError::Timeout)
        /// counts the nodes that answered.
        error: crate::AdapterError,
    },
}

impl BroadcastAckError {
    /// The answers that came despite the error (none when the packet was not sent).
    pub fn responses(&self) -> &[crate::AckResponse] {
        match self {
            Self::Emit(_) => &[],
            Self::Cluster { responses, .. } => responses,
        }
    }
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
