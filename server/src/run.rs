//! Starting handler futures without a task when they finish at once.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;

/// Polls `fut` once, here; if it has to wait, it goes on in its own task. Handlers that
/// never wait thus cost no task, and every handler starts in arrival order.
pub(crate) fn start(mut fut: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    if fut.as_mut().poll(&mut cx).is_pending() {
        // The task polls it again with a real waker, which every well-behaved future
        // registers anew.
        tokio::spawn(fut);
    }
}
