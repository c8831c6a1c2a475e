//! The boundary between the server and the application's callbacks: a panic in a handler,
//! middleware or disconnect handler is caught and logged there, and the server goes on as
//! if the callback had returned. Without it, a panic in a handler that runs inline in a
//! WebSocket driver would end the driver's task and leave its session, sockets and rooms
//! behind for good.
//!
//! Needs `panic = "unwind"` (the default): with `panic = "abort"` a panic ends the process.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::sid::Sid;

/// Which application callback ran, for the log line of its panic (`S`: how the event name
/// is held).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Callback<S> {
    /// A `socket.on(event)` handler.
    Event(S),
    /// A `socket.on_any` handler.
    Any(S),
    /// A `socket.on_any_outgoing` handler.
    AnyOutgoing(S),
    /// A `socket.use_packet` middleware, asked about an event.
    PacketMiddleware(S),
    /// A `socket.on_error` handler.
    Error,
    /// The server's `on_connection_error` handler.
    ConnectionError,
    /// A namespace middleware.
    Middleware,
    /// A namespace's connection handler.
    Connect,
    /// An `on_disconnecting` handler.
    Disconnecting,
    /// An `on_disconnect` handler.
    Disconnect,
    /// A server-side event handler (`on_server_side`).
    ServerSide(S),
    /// A dynamic namespace's matcher, asked about a namespace name.
    NamespaceMatcher(S),
    /// A connection's hook (`conn.on_upgrade`, `on_packet`, `on_drain`, `carry_extensions`).
    Connection,
}

impl<S> Callback<S> {
    fn map<T>(self, f: impl FnOnce(S) -> T) -> Callback<T> {
        match self {
            Self::Event(e) => Callback::Event(f(e)),
            Self::Any(e) => Callback::Any(f(e)),
            Self::AnyOutgoing(e) => Callback::AnyOutgoing(f(e)),
            Self::PacketMiddleware(e) => Callback::PacketMiddleware(f(e)),
            Self::Error => Callback::Error,
            Self::ConnectionError => Callback::ConnectionError,
            Self::Middleware => Callback::Middleware,
            Self::Connect => Callback::Connect,
            Self::Disconnecting => Callback::Disconnecting,
            Self::Disconnect => Callback::Disconnect,
            Self::ServerSide(e) => Callback::ServerSide(f(e)),
            Self::NamespaceMatcher(e) => Callback::NamespaceMatcher(f(e)),
            Self::Connection => Callback::Connection,
        }
    }
}

/// Where the callback ran (`S`: how the names are held, borrowed or owned).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site<S> {
    pub callback: Callback<S>,
    pub nsp: S,
    pub socket: Option<Sid>,
}

impl<S: AsRef<str>> Site<S> {
    fn log(&self, payload: &(dyn Any + Send)) {
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(not a string)");
        let (kind, event) = match &self.callback {
            Callback::Event(e) => ("event handler", Some(e.as_ref())),
            Callback::Any(e) => ("on_any handler", Some(e.as_ref())),
            Callback::AnyOutgoing(e) => ("on_any_outgoing handler", Some(e.as_ref())),
            Callback::PacketMiddleware(e) => ("use_packet middleware", Some(e.as_ref())),
            Callback::Error => ("on_error handler", None),
            Callback::ConnectionError => ("on_connection_error handler", None),
            Callback::Middleware => ("middleware", None),
            Callback::Connect => ("connection handler", None),
            Callback::Disconnecting => ("disconnecting handler", None),
            Callback::Disconnect => ("disconnect handler", None),
            Callback::ServerSide(e) => ("server-side event handler", Some(e.as_ref())),
            Callback::NamespaceMatcher(_) => ("dynamic namespace matcher", None),
            Callback::Connection => ("connection hook", None),
        };
        tracing::error!(
            target: "sio_server::panic",
            nsp = self.nsp.as_ref(),
            socket = self.socket.map(tracing::field::display),
            event,
            "{kind} panicked: {message}"
        );
    }
}

impl Site<&str> {
    /// The same site with its names copied, for a callback that goes on in a task.
    fn to_owned(self) -> Site<Box<str>> {
        Site {
            callback: self.callback.map(Box::from),
            nsp: Box::from(self.nsp),
            socket: self.socket,
        }
    }
}

/// Runs `f`; a panic is logged with `site` and gives `None`.
pub(crate) fn call<R>(site: Site<&str>, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(payload) => {
            site.log(&*payload);
            None
        }
    }
}

/// A boxed application future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Polls `fut` once, here; if it has to wait, it goes on in its own task. Callbacks that
/// never wait thus cost no task, and every one starts in arrival order. A panic, now or
/// later, is logged with `site`; `done` gets the output, or `None` after a panic (so a
/// middleware that panics still ends its socket's connect).
pub(crate) fn start<T: Send + 'static>(
    site: Site<&str>,
    mut fut: BoxFuture<T>,
    done: impl FnOnce(Option<T>) + Send + Unpin + 'static,
) {
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))) {
        Ok(Poll::Ready(out)) => done(Some(out)),
        Ok(Poll::Pending) => {
            // The task polls it again with a real waker, which every well-behaved future
            // registers anew.
            let site = site.to_owned();
            tokio::spawn(Caught {
                fut,
                site,
                done: Some(done),
            });
        }
        Err(payload) => {
            site.log(&*payload);
            done(None);
        }
    }
}

/// A future whose panics are caught and logged, then reported to `done` as `None`.
struct Caught<T, D> {
    fut: BoxFuture<T>,
    site: Site<Box<str>>,
    done: Option<D>,
}

impl<T, D: FnOnce(Option<T>) + Unpin> Future for Caught<T, D> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let out = match catch_unwind(AssertUnwindSafe(|| this.fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(out)) => Some(out),
            Err(payload) => {
                this.site.log(&*payload);
                None
            }
        };
        if let Some(done) = this.done.take() {
            done(out);
        }
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn site() -> Site<&'static str> {
        Site {
            callback: Callback::Event("boom"),
            nsp: "/",
            socket: None,
        }
    }

    #[test]
    fn a_panic_becomes_none() {
        assert_eq!(call(site(), || 1), Some(1));
        assert_eq!(call(site(), || -> u8 { panic!("bug") }), None);
    }

    #[tokio::test]
    async fn futures_report_their_end_even_after_a_panic() {
        let ends = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let e = ends.clone();
        start(site(), Box::pin(async { 7 }), move |out| {
            assert_eq!(out, Some(7));
            e.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ends.load(Ordering::SeqCst), 1, "ready at once: no task");
        let e = ends.clone();
        let (end_tx, end_rx) = tokio::sync::oneshot::channel();
        start(
            site(),
            Box::pin(async move {
                let _ = rx.await;
                panic!("later");
            }),
            move |out: Option<()>| {
                assert_eq!(out, None);
                e.fetch_add(1, Ordering::SeqCst);
                let _ = end_tx.send(());
            },
        );
        let _ = tx.send(());
        end_rx.await.unwrap();
        assert_eq!(ends.load(Ordering::SeqCst), 2);
    }
}
