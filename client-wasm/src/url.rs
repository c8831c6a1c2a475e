//! What `io(url)` means to the Rust API: which server, which namespace, which query. The
//! browser resolves the URL against the page (glue.js `url`, which the JS API calls
//! directly), as socket.io-client does.

use alloc::string::String;

use wasm_bindgen::{JsCast, JsValue};

use crate::js::{self, Array};

pub(crate) struct Parsed {
    pub(crate) secure: bool,
    /// `host[:port]` as it goes in a URL.
    pub(crate) host: String,
    /// The namespace (the URL's path).
    pub(crate) nsp: String,
    /// The URL's query, without `?`.
    pub(crate) query: String,
}

/// Parses `uri` (undefined: the page's own origin). `None` when it is not a usable URL.
pub(crate) fn parse(uri: &JsValue) -> Option<Parsed> {
    let parts = js::url(uri);
    if !Array::is_array(&parts) {
        return None;
    }
    let parts: &Array = parts.unchecked_ref();
    let text = |i| parts.at(i).as_string().unwrap_or_default();
    Some(Parsed {
        secure: parts.at(0).is_truthy(),
        host: text(1),
        nsp: text(3),
        query: text(4),
    })
}

/// `k=v&…` with both sides URI-encoded.
pub(crate) fn encode_query(pairs: &[(String, String)]) -> String {
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
        encode_query(opts)
    }
}

/// Extra headers as the object `fetch` takes.
pub(crate) fn headers(pairs: &[(String, String)]) -> JsValue {
    if pairs.is_empty() {
        return JsValue::UNDEFINED;
    }
    let kv = Array::new();
    for (k, v) in pairs {
        kv.push(&JsValue::from_str(k));
        kv.push(&JsValue::from_str(v));
    }
    js::from_entries(&kv)
}
