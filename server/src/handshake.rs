//! What a socket knows of how it connected: Node's `socket.handshake`.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, Uri};
use serde::de::DeserializeOwned;

/// The handshake request of the Engine.IO session, shared by all its sockets.
#[derive(Debug)]
pub(crate) struct Request {
    pub headers: HeaderMap,
    pub uri: Uri,
    pub issued: SystemTime,
}

/// The handshake of one socket: the HTTP request that opened its connection and the `auth`
/// payload of its CONNECT packet.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub(crate) request: Arc<Request>,
    /// Raw JSON of the auth payload (`{}` when the client sent none).
    pub(crate) auth: Bytes,
}

impl Handshake {
    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.request.headers
    }

    /// The request URL (path and query).
    pub fn url(&self) -> &Uri {
        &self.request.uri
    }

    /// When the connection was opened.
    pub fn issued(&self) -> SystemTime {
        self.request.issued
    }

    /// The first value of query parameter `key`, percent-decoded.
    ///
    /// ```
    /// # let hs = sio_server::Handshake::test_new("/socket.io/?EIO=4&room=a%20b", "{}");
    /// assert_eq!(hs.query("room").as_deref(), Some("a b"));
    /// assert_eq!(hs.query("nope"), None);
    /// ```
    pub fn query(&self, key: &str) -> Option<String> {
        let q = self.request.uri.query()?;
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// Every query parameter, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let q = self.request.uri.query().unwrap_or("");
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The auth payload as raw JSON (`{}` when none was sent).
    pub fn auth_raw(&self) -> &str {
        std::str::from_utf8(&self.auth).unwrap_or("{}")
    }

    /// The auth payload deserialized into `T`.
    pub fn auth<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.auth)
    }

    /// A handshake for doc tests and unit tests.
    #[doc(hidden)]
    pub fn test_new(uri: &str, auth: &str) -> Self {
        Handshake {
            request: Arc::new(Request {
                headers: HeaderMap::new(),
                uri: uri.parse().unwrap_or_default(),
                issued: SystemTime::now(),
            }),
            auth: Bytes::copy_from_slice(auth.as_bytes()),
        }
    }
}
