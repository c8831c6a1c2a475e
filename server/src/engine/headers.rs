//! Headers the app adds to the engine's answers: Node's `initial_headers` and `headers`
//! events, and its `cookie` option (the session id in a cookie, for load balancers that
//! stick a client to a node by cookie).

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::sid::Sid;

/// A hook that edits the headers of an answer, given the request it answers.
pub type HeadersFn = Arc<dyn Fn(&mut HeaderMap, &http::request::Parts) + Send + Sync>;

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax` (Node's default).
    Lax,
    /// `SameSite=None` (needs `secure`).
    None,
}

/// Node's `cookie` option: the session id in a cookie set on the handshake's answer.
/// The defaults are Node's: `io=<sid>; Path=/; HttpOnly; SameSite=Lax`.
#[derive(Debug, Clone)]
pub struct Cookie {
    /// Its name (`io`).
    pub name: String,
    /// `Path` (`/`), none when `None`.
    pub path: Option<String>,
    /// `Domain`, none by default.
    pub domain: Option<String>,
    /// `HttpOnly` (true).
    pub http_only: bool,
    /// `Secure` (false).
    pub secure: bool,
    /// `SameSite` (`Lax`).
    pub same_site: Option<SameSite>,
    /// `Max-Age`, none by default (a session cookie).
    pub max_age: Option<Duration>,
}

impl Default for Cookie {
    fn default() -> Self {
        Self {
            name: "io".into(),
            path: Some("/".into()),
            domain: None,
            http_only: true,
            secure: false,
            same_site: Some(SameSite::Lax),
            max_age: None,
        }
    }
}

impl Cookie {
    /// The `Set-Cookie` value for session `sid`.
    fn header(&self, sid: Sid) -> Option<HeaderValue> {
        let mut v = format!("{}={}", self.name, sid.as_str());
        if let Some(age) = self.max_age {
            v.push_str(&format!("; Max-Age={}", age.as_secs()));
        }
        if let Some(d) = &self.domain {
            v.push_str(&format!("; Domain={d}"));
        }
        if let Some(p) = &self.path {
            v.push_str(&format!("; Path={p}"));
        }
        if self.http_only {
            v.push_str("; HttpOnly");
        }
        if self.secure {
            v.push_str("; Secure");
        }
        match self.same_site {
            Some(SameSite::Strict) => v.push_str("; SameSite=Strict"),
            Some(SameSite::Lax) => v.push_str("; SameSite=Lax"),
            Some(SameSite::None) => v.push_str("; SameSite=None"),
            None => {}
        }
        HeaderValue::from_str(&v).ok()
    }
}

/// The session a handshake's answer opened (an extension of that answer, while headers
/// are added).
#[derive(Clone, Copy)]
pub(crate) struct Opened(pub Sid);

/// What is added to answers: set through the builder
/// ([`initial_headers`](crate::SocketIoBuilder::initial_headers),
/// [`headers`](crate::SocketIoBuilder::headers), [`cookie`](crate::SocketIoBuilder::cookie)).
#[derive(Clone, Default)]
pub struct ResponseHeaders {
    pub(crate) initial: Option<HeadersFn>,
    pub(crate) every: Option<HeadersFn>,
    pub(crate) cookie: Option<Cookie>,
}

impl std::fmt::Debug for ResponseHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseHeaders")
            .field("initial_headers", &self.initial.is_some())
            .field("headers", &self.every.is_some())
            .field("cookie", &self.cookie)
            .finish()
    }
}

impl ResponseHeaders {
    pub(crate) fn is_empty(&self) -> bool {
        self.initial.is_none() && self.every.is_none() && self.cookie.is_none()
    }

    /// Whether handshakes must mark their answer with the session they opened.
    pub(crate) fn wants_opened(&self) -> bool {
        self.initial.is_some() || self.cookie.is_some()
    }

    /// Adds the headers to an answer that is not an error, as Node does: the handshake's
    /// first (the cookie, then `initial_headers`), then every answer's (`headers`).
    pub(crate) fn apply<B>(&self, res: &mut Response<B>, req: &http::request::Parts) {
        if !matches!(
            res.status(),
            StatusCode::OK | StatusCode::SWITCHING_PROTOCOLS
        ) {
            return;
        }
        if let Some(Opened(sid)) = res.extensions_mut().remove::<Opened>() {
            if let Some(v) = self.cookie.as_ref().and_then(|c| c.header(sid)) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            if let Some(f) = &self.initial {
                f(res.headers_mut(), req);
            }
        }
        if let Some(f) = &self.every {
            f(res.headers_mut(), req);
        }
    }
}
