//! What `io(url)` means: which server (the Manager cache key), which namespace, which query,
//! resolved against the page's address as socket.io-client does.

use alloc::string::String;

use wasm_bindgen::{JsCast, JsValue};

use crate::js;

pub(crate) struct Parsed {
    pub(crate) secure: bool,
    /// `host[:port]` as it goes in a URL.
    pub(crate) host: String,
    /// `scheme://host:port`: sockets of one server share a Manager.
    pub(crate) id: String,
    /// The namespace (the URL's path).
    pub(crate) nsp: String,
    /// The URL's query, without `?`.
    pub(crate) query: String,
}

/// Parses `uri` (`None`: the page's own origin). `None` when it is not a usable URL.
pub(crate) fn parse(uri: Option<&str>) -> Option<Parsed> {
    let base = js::base();
    let page = base
        .as_string()
        .and_then(|b| Url::new(&b, &JsValue::UNDEFINED));
    let mut full = String::new();
    match uri {
        None => {
            let page = page.as_ref()?;
            full.push_str(&page.protocol);
            full.push_str("//");
            full.push_str(&page.host);
        }
        Some(u) => {
            let has_scheme = ["http://", "https://", "ws://", "wss://"].iter().any(|s| {
                u.get(..s.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(s))
            });
            if !has_scheme {
                // `//host/x`, `/x` (same host) and `host:port/x` all take the page's scheme.
                full.push_str(page.as_ref().map_or("https:", |p| p.protocol.as_str()));
                if !u.starts_with("//") {
                    full.push_str("//");
                    if u.starts_with('/') {
                        full.push_str(&page.as_ref()?.host);
                    }
                }
            }
            full.push_str(u);
        }
    }
    let url = Url::new(&full, &JsValue::UNDEFINED)?;
    let secure = url.protocol == "https:" || url.protocol == "wss:";
    let port = if url.port.is_empty() {
        if secure { "443" } else { "80" }
    } else {
        url.port.as_str()
    };
    let mut id = String::from(url.protocol.trim_end_matches(':'));
    id.push_str("://");
    id.push_str(&url.hostname);
    id.push(':');
    id.push_str(port);
    Some(Parsed {
        secure,
        host: url.host,
        id,
        nsp: url.pathname,
        query: String::from(url.search.strip_prefix('?').unwrap_or(&url.search)),
    })
}

/// The parts of a URL the client needs, from the browser's `URL`.
struct Url {
    protocol: String,
    host: String,
    hostname: String,
    port: String,
    pathname: String,
    search: String,
}

impl Url {
    fn new(href: &str, base: &JsValue) -> Option<Url> {
        let parts = js::parse_url(href, base);
        if !js::Array::is_array(&parts) {
            return None;
        }
        let parts: &js::Array = parts.unchecked_ref();
        let part = |i| parts.at(i).as_string().unwrap_or_default();
        Some(Url {
            protocol: part(0),
            host: part(1),
            hostname: part(2),
            port: part(3),
            pathname: part(4),
            search: part(5),
        })
    }
}

/// `k=v&…` with both sides URI-encoded.
pub(crate) fn encode_query<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&js::encode_uri(k));
        out.push('=');
        out.push_str(&js::encode_uri(v));
    }
    out
}

/// The query string of the options, or the URL's own when the options have none.
pub(crate) fn query(opts: &[(String, String)], from_url: &str) -> String {
    if opts.is_empty() {
        String::from(from_url)
    } else {
        encode_query(opts.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// Extra headers as the object `fetch` takes.
pub(crate) fn headers(pairs: &[(String, String)]) -> JsValue {
    if pairs.is_empty() {
        return JsValue::UNDEFINED;
    }
    let kv = js::Array::new();
    for (k, v) in pairs {
        kv.push(&JsValue::from_str(k));
        kv.push(&JsValue::from_str(v));
    }
    js::from_entries(&kv)
}

/// `a=1&b=2` → pairs, URI-decoded (a query given as a string).
pub(crate) fn split_query(q: &str) -> alloc::vec::Vec<(String, String)> {
    let decode = |s: &str| js::decode_uri(s);
    q.trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}
