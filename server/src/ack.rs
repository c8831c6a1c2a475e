//! Acknowledgements the server waits for.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::args::Args;
use crate::error::AckError;

pub(crate) type AckResult = Result<Args, AckError>;

/// Pending acks of one socket, allocated on first use.
#[derive(Default)]
pub(crate) struct AckMap {
    map: Option<HashMap<u64, oneshot::Sender<AckResult>>>,
    /// Set when the socket ended: an ack asked for later fails at once instead of waiting
    /// in a map nobody empties.
    closed: bool,
}

impl AckMap {
    pub fn insert(&mut self, id: u64) -> oneshot::Receiver<AckResult> {
        let (tx, rx) = oneshot::channel();
        if self.closed {
            let _ = tx.send(Err(AckError::Disconnected));
        } else {
            self.map.get_or_insert_with(HashMap::new).insert(id, tx);
        }
        rx
    }

    pub fn take(&mut self, id: u64) -> Option<oneshot::Sender<AckResult>> {
        let map = self.map.as_mut()?;
        let tx = map.remove(&id);
        if map.is_empty() {
            self.map = None;
        }
        tx
    }

    /// Fails every pending ack and every later one (the socket ended).
    pub fn fail_all(&mut self) {
        self.closed = true;
        for (_, tx) in self.map.take().into_iter().flatten() {
            let _ = tx.send(Err(AckError::Disconnected));
        }
    }
}

/// Waits for an ack, up to `timeout`; `on_timeout` forgets the pending entry.
pub(crate) async fn wait(
    rx: oneshot::Receiver<AckResult>,
    timeout: Option<Duration>,
    on_timeout: impl FnOnce() + Send + 'static,
) -> AckResult {
    let result = match timeout {
        Some(t) => match tokio::time::timeout(t, rx).await {
            Ok(r) => r,
            Err(_) => {
                on_timeout();
                return Err(AckError::Timeout);
            }
        },
        None => rx.await,
    };
    result.unwrap_or(Err(AckError::Disconnected))
}

/// The answer to an emit with ack: resolves to the client's ack arguments, or why there
/// are none. The packet is sent when the emit is called, not when this is awaited.
#[must_use = "the ack is lost unless awaited"]
pub struct AckFuture<T>(Pin<Box<dyn Future<Output = T> + Send + 'static>>);

impl<T> AckFuture<T> {
    pub(crate) fn new(fut: impl Future<Output = T> + Send + 'static) -> Self {
        Self(Box::pin(fut))
    }
}

impl<T> Future for AckFuture<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.0.as_mut().poll(cx)
    }
}

impl<T> std::fmt::Debug for AckFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckFuture")
    }
}
