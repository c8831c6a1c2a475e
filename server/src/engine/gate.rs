//! Who may talk to the engine, decided before anything else: an allow list of `Origin`s
//! and Node's `allowRequest` hook. CORS only stops a page from *reading* answers, and does
//! not apply to WebSocket at all: without a check of the `Origin`, any site a user visits
//! can open a WebSocket to a cookie-authenticated app in the user's name (cross-site
//! WebSocket hijacking), or post packets over polling.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;

/// What `allow_request` answers: `Err(message)` refuses with HTTP 403.
pub type AllowFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type AllowFn = Arc<dyn Fn(&http::request::Parts) -> AllowFuture + Send + Sync>;
pub(crate) type RefusalFn = Arc<dyn Fn(&super::ConnectionError) + Send + Sync>;

/// The checks every engine request goes through ([`SocketIoBuilder::allowed_origins`],
/// [`SocketIoBuilder::allow_request`](crate::SocketIoBuilder::allow_request)).
///
/// [`SocketIoBuilder::allowed_origins`]: crate::SocketIoBuilder::allowed_origins
#[derive(Clone, Default)]
pub struct Gate {
    origins: Option<Arc<[String]>>,
    allow: Option<AllowFn>,
    /// Told of every refusal (Node's `connection_error`).
    pub(crate) on_refusal: Option<RefusalFn>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("origins", &self.origins)
            .field("allow_request", &self.allow.is_some())
            .field("on_connection_error", &self.on_refusal.is_some())
            .finish()
    }
}

impl Gate {
    pub(crate) fn set_origins(&mut self, origins: Vec<String>) {
        self.origins = Some(origins.into());
    }

    pub(crate) fn set_allow(&mut self, f: AllowFn) {
        self.allow = Some(f);
    }

    /// Whether `allow_request` must be asked about this request: a handshake (no `sid`),
    /// as in Node.
    pub(crate) fn asks(&self, handshake: bool) -> bool {
        handshake && self.allow.is_some()
    }

    /// The refusal of a request whose `Origin` is not allowed, if it is one. Requests
    /// without an `Origin` (not from a browser page) pass: it is what a browser cannot be
    /// made to lie about.
    pub(crate) fn refuse_origin(&self, headers: &http::HeaderMap) -> Option<Response<Full<Bytes>>> {
        let (Some(allowed), Some(origin)) = (&self.origins, headers.get(header::ORIGIN)) else {
            return None;
        };
        let origin = origin.to_str().unwrap_or_default();
        if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
            return None;
        }
        tracing::debug!(origin, "engine.io request refused: origin not allowed");
        Some(forbidden("Forbidden"))
    }

    /// Asks `allow_request` about a handshake: its refusal, if it refuses.
    pub(crate) async fn refuse_handshake(
        &self,
        parts: &http::request::Parts,
    ) -> Option<Response<Full<Bytes>>> {
        let allow = self.allow.as_ref()?;
        let message = allow(parts).await.err()?;
        tracing::debug!(%message, "engine.io handshake refused by allow_request");
        Some(forbidden(&message))
    }
}

/// Node's answer to a refused request: 403, `{"code":4,"message":…}`.
fn forbidden(message: &str) -> Response<Full<Bytes>> {
    super::errors::refusal(StatusCode::FORBIDDEN, 4, message)
}
