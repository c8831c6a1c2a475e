//! What a socket knows of how it connected: Node's `socket.handshake`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, Uri};
use serde::de::DeserializeOwned;

/// The handshake request of the Engine.IO session, shared by all its sockets.
#[derive(Debug)]
pub(crate) struct Request {
    headers: CompactHeaders,
    pub uri: Uri,
    pub issued: SystemTime,
    pub address: Option<SocketAddr>,
    /// Whether it came over TLS ([`Encrypted`], or an `https` request URI).
    pub secure: bool,
    /// What the app chose to keep of the request's extensions
    /// ([`SocketIoBuilder::carry_extensions`](crate::SocketIoBuilder::carry_extensions)).
    pub extensions: http::Extensions,
}

/// Copies what a connection keeps of its handshake request's extensions.
#[derive(Clone)]
pub(crate) struct Carry(pub std::sync::Arc<CarryFn>);

type CarryFn = dyn Fn(&http::request::Parts, &mut http::Extensions) + Send + Sync;

impl std::fmt::Debug for Carry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Carry")
    }
}

/// The address of the peer of an HTTP connection, carried in the extensions of each of its
/// requests; a handshake keeps it ([`Handshake::address`]). [`serve`](crate::serve) adds
/// it; with another server, insert it yourself (for example from axum's `ConnectInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// Marks the requests of a connection that came over TLS: a handshake with it is
/// [`secure`](Handshake::secure), as Node's `handshake.secure` (`request.connection.encrypted`).
/// Insert it where TLS ends in this process (the service a rustls acceptor hands each
/// connection to); HTTP/2 requests whose URI has the `https` scheme need none. Behind a proxy
/// that ends TLS, the connection to this server is plain, and not secure, as in Node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Encrypted;

impl Request {
    /// Keeps what the connection will need of `req`, in memory it owns: hyper's parsed
    /// values are slices of its read buffer, which they would keep alive.
    pub fn new(req: &http::request::Parts, carry: Option<&Carry>) -> Self {
        // A request line's URI is a path and query: one exact copy (`to_string` would go
        // through the formatter and leave a string with spare capacity, wrapped in one
        // more allocation by `Bytes`).
        let uri = match req.uri.path_and_query() {
            Some(pq) if req.uri.scheme().is_none() => {
                Uri::from_maybe_shared(Bytes::copy_from_slice(pq.as_str().as_bytes())).ok()
            }
            _ => None,
        };
        Self {
            headers: CompactHeaders::new(&req.headers),
            uri: uri.unwrap_or_else(|| {
                Uri::from_maybe_shared(Bytes::from(req.uri.to_string()))
                    .unwrap_or_else(|_| req.uri.clone())
            }),
            issued: SystemTime::now(),
            address: req.extensions.get::<RemoteAddr>().map(|a| a.0),
            secure: req.extensions.get::<Encrypted>().is_some()
                || req.uri.scheme() == Some(&http::uri::Scheme::HTTPS),
            extensions: carry.map_or_else(http::Extensions::new, |f| {
                let mut kept = http::Extensions::new();
                let site = crate::catch::Site {
                    callback: crate::catch::Callback::Connection,
                    nsp: "",
                    socket: None,
                };
                // A panicking hook keeps nothing.
                crate::catch::call(site, || (f.0)(req, &mut kept))
                    .map_or_else(http::Extensions::new, |()| kept)
            }),
        }
    }

    pub fn headers(&self) -> &HeaderMap {
        self.headers.get()
    }
}

/// Request headers stored as one block of `name\0value\0` pairs, built into a
/// [`HeaderMap`] only if asked for: most connections never look at their headers, and a
/// map costs about a kilobyte per connection (boxed: unbuilt, it takes 8 bytes, not 96).
#[derive(Debug)]
struct CompactHeaders {
    block: Box<[u8]>,
    map: std::sync::OnceLock<Box<HeaderMap>>,
}

impl CompactHeaders {
    fn new(headers: &HeaderMap) -> Self {
        let mut block = Vec::with_capacity(
            headers
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 2)
                .sum(),
        );
        for (name, value) in headers {
            block.extend_from_slice(name.as_str().as_bytes());
            block.push(0);
            block.extend_from_slice(value.as_bytes());
            block.push(0);
        }
        Self {
            block: block.into_boxed_slice(),
            map: std::sync::OnceLock::new(),
        }
    }

    fn get(&self) -> &HeaderMap {
        self.map.get_or_init(|| {
            let mut map = HeaderMap::new();
            let mut parts = self.block.split(|&b| b == 0);
            while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name),
                    http::HeaderValue::from_bytes(value),
                ) {
                    map.append(name, value);
                }
            }
            Box::new(map)
        })
    }
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
        self.request.headers()
    }

    /// The request URL (path and query).
    pub fn url(&self) -> &Uri {
        &self.request.uri
    }

    /// When the connection was opened.
    pub fn issued(&self) -> SystemTime {
        self.request.issued
    }

    /// The peer's address, when the serving stack told it ([`RemoteAddr`]). Behind a
    /// proxy, this is the proxy's: the client's is in its `x-forwarded-for` header.
    pub fn address(&self) -> Option<SocketAddr> {
        self.request.address
    }

    /// Whether the handshake came over TLS to this process ([`Encrypted`]).
    pub fn secure(&self) -> bool {
        self.request.secure
    }

    /// The values the app kept of the handshake request's extensions (what its tower
    /// layers inserted, such as an authenticated user), with
    /// [`SocketIoBuilder::carry_extensions`](crate::SocketIoBuilder::carry_extensions).
    pub fn extensions(&self) -> &http::Extensions {
        &self.request.extensions
    }

    /// Whether the handshake came from another origin (it has an `Origin` header), as
    /// Node's `handshake.xdomain`.
    pub fn xdomain(&self) -> bool {
        self.headers().contains_key(http::header::ORIGIN)
    }

    /// The handshake as Node's `socket.handshake` serializes (`headers`, `time`,
    /// `address`, `xdomain`, `secure`, `issued`, `url`, `query`, `auth`): what a
    /// `fetchSockets` answer and the admin UI carry.
    pub fn to_json(&self) -> serde_json::Value {
        let mut headers = serde_json::Map::new();
        for (k, v) in self.headers() {
            if let Ok(v) = v.to_str() {
                headers.insert(k.as_str().to_owned(), v.into());
            }
        }
        let issued = self
            .issued()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let query: serde_json::Map<String, serde_json::Value> = self
            .query_pairs()
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect();
        let auth: serde_json::Value =
            serde_json::from_slice(&self.auth).unwrap_or_else(|_| serde_json::json!({}));
        serde_json::json!({
            "headers": headers,
            "time": crate::time::node_date_string(self.issued()),
            "address": self.address().map(|a| a.ip().to_string()).unwrap_or_default(),
            "xdomain": self.xdomain(),
            "secure": self.secure(),
            "issued": issued,
            "url": self.url().to_string(),
            "query": query,
            "auth": auth,
        })
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
                headers: CompactHeaders::new(&HeaderMap::new()),
                uri: uri.parse().unwrap_or_default(),
                issued: SystemTime::now(),
                address: None,
                secure: false,
                extensions: http::Extensions::new(),
            }),
            auth: Bytes::copy_from_slice(auth.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_survive_the_compact_form() {
        let req = http::Request::builder()
            .uri("/socket.io/?EIO=4&x=%20y")
            .header("x-test", "a")
            .header("x-test", "b")
            .header("cookie", "k=v; z")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let r = Request::new(&parts, None);
        let all: Vec<_> = r.headers().get_all("x-test").iter().collect();
        assert_eq!(all, ["a", "b"]);
        assert_eq!(r.headers()["cookie"], "k=v; z");
        assert_eq!(r.uri.query(), Some("EIO=4&x=%20y"));
        assert!(!r.secure);
    }

    #[test]
    fn secure_is_tls_to_this_process() {
        let parts = |uri: &str, tls: bool| {
            let mut req = http::Request::builder().uri(uri).body(()).unwrap();
            if tls {
                req.extensions_mut().insert(Encrypted);
            }
            req.into_parts().0
        };
        let secure = |uri, tls| Request::new(&parts(uri, tls), None).secure;
        assert!(secure("/socket.io/?EIO=4", true));
        assert!(secure("https://example.com/socket.io/?EIO=4", false));
        assert!(!secure("http://example.com/socket.io/?EIO=4", false));
        assert!(!secure("/socket.io/?EIO=4", false));
        let hs = Handshake {
            request: Arc::new(Request::new(&parts("/socket.io/?EIO=4", true), None)),
            auth: Bytes::from_static(b"{}"),
        };
        assert_eq!(hs.to_json()["secure"], true);
    }
}
