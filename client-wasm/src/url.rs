//! What `io(url)` means: which server (the Manager cache key), which namespace, which query,
//! resolved against the page's address as socket.io-client does.

use alloc::string::String;

use wasm_bindgen::JsValue;
use web_sys::Url;

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
    let base = js::base().as_string();
    let page = base.as_deref().and_then(|b| Url::new(b).ok());
    let mut full = String::new();
    match uri {
        None => full.push_str(&page.as_ref()?.origin()),
        Some(u) => {
            let has_scheme = ["http://", "https://", "ws://", "wss://"]
                .iter()
                .any(|s| u.len() >= s.len() && u[..s.len()].eq_ignore_ascii_case(s));
            if !has_scheme {
                // `//host/x`, `/x` (same host) and `host:port/x` all take the page's scheme.
                let scheme = page.as_ref().map(Url::protocol);
                full.push_str(scheme.as_deref().unwrap_or("https:"));
                if !u.starts_with("//") {
                    full.push_str("//");
                    if u.starts_with('/') {
                        full.push_str(&page.as_ref()?.host());
                    }
                }
            }
            full.push_str(u);
        }
    }
    let url = Url::new(&full).ok()?;
    let protocol = url.protocol();
    let secure = protocol == "https:" || protocol == "wss:";
    let mut port = url.port();
    if port.is_empty() {
        port = String::from(if secure { "443" } else { "80" });
    }
    let mut id = String::from(&protocol[..protocol.len() - 1]);
    id.push_str("://");
    id.push_str(&url.hostname());
    id.push(':');
    id.push_str(&port);
    let search = url.search();
    Some(Parsed {
        secure,
        host: url.host(),
        id,
        nsp: url.pathname(),
        query: String::from(search.strip_prefix('?').unwrap_or(&search)),
    })
}

/// `k=v&…` with both sides URI-encoded.
pub(crate) fn encode_query<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&String::from(js_sys::encode_uri_component(k)));
        out.push('=');
        out.push_str(&String::from(js_sys::encode_uri_component(v)));
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
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    o.into()
}

/// `a=1&b=2` → pairs, URI-decoded (a query given as a string).
pub(crate) fn split_query(q: &str) -> alloc::vec::Vec<(String, String)> {
    let decode = |s: &str| {
        js_sys::decode_uri_component(s)
            .map(String::from)
            .unwrap_or_else(|_| String::from(s))
    };
    q.trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}
