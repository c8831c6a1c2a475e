//! The HTTP answers Node's engine.io gives to bad requests.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;

/// A request the engine refuses, with Node's error code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Code 0: the `transport` parameter is missing or not offered.
    #[error("Transport unknown")]
    UnknownTransport,
    /// Code 1: the `sid` names no open session.
    #[error("Session ID unknown")]
    UnknownSid,
    /// Code 2: a handshake that is not a GET.
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// Code 3: anything else that is malformed.
    #[error("Bad request")]
    BadRequest,
    /// Code 5: `EIO` is not 4.
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
}

impl EngineError {
    /// Node's numeric error code.
    pub fn code(self) -> u8 {
        match self {
            EngineError::UnknownTransport => 0,
            EngineError::UnknownSid => 1,
            EngineError::BadHandshakeMethod => 2,
            EngineError::BadRequest => 3,
            EngineError::UnsupportedProtocolVersion => 5,
        }
    }

    /// The 400 response with Node's JSON body, e.g. `{"code":1,"message":"Session ID unknown"}`.
    pub fn response(self) -> Response<Full<Bytes>> {
        tracing::debug!(code = self.code(), "refused engine.io request: {self}");
        refusal(StatusCode::BAD_REQUEST, self.code(), &self.to_string())
    }
}

/// Why the engine refused a request, as Node's `connection_error` event has it
/// ([`SocketIoBuilder::on_connection_error`](crate::SocketIoBuilder::on_connection_error)):
/// its code and message (those of the answer's body) and what the request was.
#[derive(Debug, Clone)]
pub struct ConnectionError {
    /// Node's code: 0 unknown transport, 1 unknown session id, 2 bad handshake method,
    /// 3 bad request, 4 forbidden (the `Origin` list, `allow_request`), 5 unsupported
    /// protocol version.
    pub code: u8,
    /// The message sent back.
    pub message: String,
    /// The request's method.
    pub method: http::Method,
    /// Its URI (path and query).
    pub uri: http::Uri,
    /// Its headers.
    pub headers: http::HeaderMap,
}

/// A refusal's code and message, kept on its response for `connection_error`.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub code: u8,
    pub message: String,
}

/// A refusal: `status` with Node's JSON body `{"code":…,"message":…}`.
pub(crate) fn refusal(status: StatusCode, code: u8, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    let mut res = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default();
    res.extensions_mut().insert(Refusal {
        code,
        message: message.to_owned(),
    });
    res
}

/// A response with a status and no body (Node's answer to overlapping polls, too-large
/// bodies, …).
pub(crate) fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::default());
    *res.status_mut() = code;
    res
}
