//! The one error type of the load generator.

use std::time::Duration;

/// What can go wrong in one step of a scenario. Network data never panics: a frame the
/// server should not have sent is a [`Error::Protocol`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket call failed; `.0` says which step.
    #[error("{0}: {1}")]
    Io(&'static str, #[source] std::io::Error),
    /// The websocket layer (framing, close) failed.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// A bounded wait ran out.
    #[error("timed out after {1:?}: {0}")]
    Timeout(&'static str, Duration),
    /// The peer closed where the scenario expected more.
    #[error("closed by the server: {0}")]
    Closed(&'static str),
    /// The server sent something that the protocol or the contract does not allow here.
    #[error("protocol: {0}")]
    Protocol(String),
    /// An HTTP long-polling response that is not what Engine.IO answers.
    #[error("http: {0}")]
    Http(String),
    /// Bad command line.
    #[error("{0}")]
    Usage(String),
    /// The server process could not be started, stopped or measured.
    #[error("server process: {0}")]
    Server(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// `fut`, or [`Error::Timeout`] naming `what` once `d` has passed.
pub async fn within<T>(
    d: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(d, fut)
        .await
        .unwrap_or(Err(Error::Timeout(what, d)))
}
