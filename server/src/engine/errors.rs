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
        let body = format!("{{\"code\":{},\"message\":\"{}\"}}", self.code(), self);
        Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default()
    }
}

/// A response with a status and no body (Node's answer to overlapping polls, too-large
/// bodies, …).
pub(crate) fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::default());
    *res.status_mut() = code;
    res
}
