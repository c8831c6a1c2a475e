//! The two ways an Engine.IO session moves frames: a WebSocket, or HTTP long-polling with
//! `fetch` (one GET waiting for the server, at most one POST carrying the client's frames).
//!
//! A transport only does I/O. Its browser callbacks go to the manager tagged with the
//! transport's id, so events of a transport that was replaced or closed are dropped there.

// With one transport feature, `Io` has one variant and its `if let`s cannot fail.
#![cfg_attr(
    not(all(feature = "websocket", feature = "polling")),
    allow(irrefutable_let_patterns)
)]

use alloc::string::String;
#[cfg(feature = "polling")]
use alloc::vec::Vec;

#[cfg(feature = "polling")]
use sio_protocol::payload;
#[cfg(feature = "polling")]
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;

#[cfg(feature = "polling")]
use crate::js::Array;
use crate::js::{self, Callback};
use crate::opts::TransportKind;

/// A frame on its way out. Text is the whole Engine.IO packet as a JS string, so a WebSocket
/// sends it without copying it through wasm memory.
#[derive(Clone)]
pub(crate) enum Out {
    Text(JsValue),
    /// `ArrayBuffer`, a typed array or a `Blob`.
    Binary(JsValue),
}

impl Out {
    fn to_js(&self) -> JsValue {
        match self {
            Out::Text(s) => s.clone(),
            Out::Binary(b) => b.clone(),
        }
    }
}

/// What a transport reports (the `kind` of its [`Callback`]).
pub(crate) mod ev {
    /// WebSocket open.
    pub(crate) const OPEN: u32 = 0;
    /// WebSocket message / successful HTTP response (value: data or body text) / Blobs read.
    pub(crate) const DATA: u32 = 1;
    /// WebSocket closed (value: the `CloseEvent`).
    pub(crate) const CLOSE: u32 = 2;
    // 3: network error; for HTTP, also an error status (value: the error or the status).
    /// The request a polling callback belongs to, added to the kind: GET, POST, Blob reading.
    pub(crate) const GET: u32 = 0;
    pub(crate) const POST: u32 = 10;
    #[cfg_attr(not(feature = "polling"), allow(dead_code))]
    pub(crate) const BLOBS: u32 = 20;
}

pub(crate) struct Transport {
    pub(crate) id: u32,
    pub(crate) kind: TransportKind,
    /// Ready to take frames: a WebSocket is open, or no POST is in flight.
    pub(crate) writable: bool,
    closed: bool,
    io: Io,
}

enum Io {
    #[cfg(feature = "websocket")]
    Ws { ws: JsValue, _cb: Callback },
    #[cfg(feature = "polling")]
    Polling(Polling),
}

#[cfg(feature = "polling")]
struct Polling {
    url: String,
    headers: JsValue,
    credentials: bool,
    timestamps: bool,
    get: Option<JsValue>,
    /// The POST in flight, or the reading of the Blobs it will carry.
    post: Option<JsValue>,
    cb: Callback,
    seq: u32,
}

/// Where and how to connect, shared by every transport of a session.
pub(crate) struct Endpoint<'a> {
    pub(crate) secure: bool,
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    /// `k=v&…`, already encoded, without `EIO`/`transport`/`sid`.
    pub(crate) query: &'a str,
    pub(crate) sid: Option<&'a str>,
    #[cfg_attr(not(feature = "polling"), allow(dead_code))]
    pub(crate) headers: &'a JsValue,
    #[cfg_attr(not(feature = "polling"), allow(dead_code))]
    pub(crate) credentials: bool,
    #[cfg_attr(not(feature = "polling"), allow(dead_code))]
    pub(crate) timestamps: bool,
    #[cfg_attr(not(feature = "websocket"), allow(dead_code))]
    pub(crate) protocols: &'a JsValue,
}

impl Endpoint<'_> {
    fn url(&self, scheme: &str, transport: &str) -> String {
        let mut url = String::with_capacity(64 + self.host.len() + self.query.len());
        url.push_str(scheme);
        if self.secure {
            url.push('s');
        }
        url.push_str("://");
        url.push_str(self.host);
        url.push_str(self.path);
        url.push_str("?EIO=4&transport=");
        url.push_str(transport);
        if let Some(sid) = self.sid {
            url.push_str("&sid=");
            url.push_str(sid);
        }
        if !self.query.is_empty() {
            url.push('&');
            url.push_str(self.query);
        }
        url
    }
}

impl Transport {
    /// Opens a transport; its events arrive through `cb` (polling keeps it for its requests).
    pub(crate) fn open(id: u32, kind: TransportKind, at: &Endpoint<'_>, cb: Callback) -> Self {
        match kind {
            #[cfg(feature = "websocket")]
            TransportKind::WebSocket => {
                let ws = js::ws_open(&at.url("ws", "websocket"), at.protocols, &cb);
                Transport {
                    id,
                    kind,
                    writable: false,
                    closed: false,
                    io: Io::Ws { ws, _cb: cb },
                }
            }
            #[cfg(feature = "polling")]
            TransportKind::Polling => {
                let mut t = Transport {
                    id,
                    kind,
                    // Polling can carry frames at once: the first POST waits for nothing.
                    writable: true,
                    closed: false,
                    io: Io::Polling(Polling {
                        url: at.url("http", "polling"),
                        headers: at.headers.clone(),
                        credentials: at.credentials,
                        timestamps: at.timestamps,
                        get: None,
                        post: None,
                        cb,
                        seq: 0,
                    }),
                };
                t.poll();
                t
            }
            #[allow(unreachable_patterns)]
            _ => unreachable!(),
        }
    }

    /// Polling: the open packet told us the sid; later requests carry it.
    #[cfg(feature = "polling")]
    pub(crate) fn set_sid(&mut self, sid: &str) {
        if let Io::Polling(p) = &mut self.io {
            p.url.push_str("&sid=");
            p.url.push_str(sid);
        }
    }

    /// Polling: starts the next GET unless one is waiting already.
    pub(crate) fn poll(&mut self) {
        #[cfg(feature = "polling")]
        if let Io::Polling(p) = &mut self.io {
            if p.get.is_none() {
                let url = p.next_url();
                p.get = Some(js::request(
                    "GET",
                    &url,
                    &JsValue::UNDEFINED,
                    &p.headers,
                    p.credentials,
                    p.cb.as_ref(),
                    ev::GET,
                    &JsValue::UNDEFINED,
                ));
            }
        }
    }

    /// Polling: the GET, POST or Blob reading `op` finished, well or not.
    pub(crate) fn request_done(&mut self, op: u32) {
        #[cfg(feature = "polling")]
        if let Io::Polling(p) = &mut self.io {
            match op {
                ev::GET => p.get = None,
                ev::POST => {
                    p.post = None;
                    self.writable = true;
                }
                _ => p.post = None,
            }
        }
        let _ = op;
    }

    /// Polling: no request in flight, so the transport can be swapped for the WebSocket.
    pub(crate) fn is_idle(&self) -> bool {
        match &self.io {
            #[cfg(feature = "polling")]
            Io::Polling(p) => p.get.is_none() && p.post.is_none(),
            #[cfg(feature = "websocket")]
            Io::Ws { .. } => true,
        }
    }

    /// Sends frames. A WebSocket sends each at once and stays writable; polling sends one
    /// POST and is writable again when it is answered (`request_done`).
    pub(crate) fn send(&mut self, frames: &[Out]) {
        match &mut self.io {
            #[cfg(feature = "websocket")]
            Io::Ws { .. } => self.send_ws(frames),
            #[cfg(feature = "polling")]
            Io::Polling(p) => {
                self.writable = false;
                let blobs = frames
                    .iter()
                    .any(|f| matches!(f, Out::Binary(b) if js::is_blob(b)));
                if blobs {
                    // Read the Blobs first; the POST goes out when `BLOBS` comes back.
                    let parts = Array::new();
                    for f in frames {
                        parts.push(&f.to_js());
                    }
                    p.post = Some(js::unblob(&parts, &p.cb));
                } else {
                    p.post_body(&encode_payload(frames.iter().map(Out::to_js)));
                }
            }
        }
    }

    #[cfg(feature = "websocket")]
    fn send_ws(&self, frames: &[Out]) {
        if let Io::Ws { ws, .. } = &self.io {
            for f in frames {
                js::ws_send(ws, &f.to_js());
            }
        }
    }

    /// Polling: the Blobs of a send were read; `parts` are strings and buffers now.
    #[cfg(feature = "polling")]
    pub(crate) fn blobs_read(&mut self, parts: &JsValue) {
        if let Io::Polling(p) = &mut self.io {
            let parts: &Array = parts.unchecked_ref();
            let body = encode_payload(parts.to_vec().into_iter());
            p.post_body(&body);
        }
    }

    /// Ends the transport; callbacks stop at once. With `bye`, the server is told: the frames
    /// `rest` that were not sent yet go out first, then a close packet (after the POST in
    /// flight, if any: the server refuses overlapping POSTs).
    pub(crate) fn close(&mut self, bye: Option<&[Out]>) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.writable = false;
        match &self.io {
            #[cfg(feature = "websocket")]
            Io::Ws { ws, .. } => {
                if let Some(rest) = bye {
                    self.send_ws(rest);
                }
                js::ws_close(ws);
            }
            #[cfg(feature = "polling")]
            Io::Polling(p) => {
                // On a goodbye, the GET stays open for the server to answer (aborting it would
                // make Node's engine.io drop the session before the close packet arrives);
                // either way its callback dies with this transport.
                if let Some(get) = &p.get {
                    js::abort(get, bye.is_some());
                }
                match bye {
                    Some(rest) => {
                        // The POST in flight goes through (the close packet follows it), but
                        // its callback dies with this transport.
                        if let Some(post) = &p.post {
                            js::abort(post, true);
                        }
                        let parts = rest.iter().map(Out::to_js);
                        let body = encode_payload(parts.chain([JsValue::from_str("1")]));
                        let body = js::text(&body);
                        // Fire and forget: nobody listens for the answer.
                        js::request(
                            "POST",
                            &p.url,
                            &body,
                            &p.headers,
                            p.credentials,
                            &JsValue::UNDEFINED,
                            0,
                            p.post.as_ref().unwrap_or(&JsValue::UNDEFINED),
                        );
                    }
                    None => {
                        if let Some(post) = &p.post {
                            js::abort(post, false);
                        }
                    }
                }
            }
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        self.close(None);
    }
}

#[cfg(feature = "polling")]
impl Polling {
    fn next_url(&mut self) -> String {
        let mut url = self.url.clone();
        if self.timestamps {
            // A fresh `t` defeats caches that ignore `no-store`.
            self.seq = self.seq.wrapping_add(1);
            url.push_str("&t=");
            push_base36(&mut url, js::now() as u64);
            url.push('.');
            push_base36(&mut url, u64::from(self.seq));
        }
        url
    }

    fn post_body(&mut self, body: &[u8]) {
        let url = self.next_url();
        self.post = Some(js::request(
            "POST",
            &url,
            &js::text(body),
            &self.headers,
            self.credentials,
            self.cb.as_ref(),
            ev::POST,
            &JsValue::UNDEFINED,
        ));
    }
}

#[cfg(feature = "polling")]
fn push_base36(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 13];
    let mut i = buf.len();
    loop {
        i -= 1;
        let d = (n % 36) as u8;
        buf[i] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
        n /= 36;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// A polling body (UTF-8) from text packets (JS strings) and binary ones (buffers, views).
#[cfg(feature = "polling")]
fn encode_payload(parts: impl Iterator<Item = JsValue>) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for (i, v) in parts.enumerate() {
        if i > 0 {
            out.push(payload::SEPARATOR);
        }
        match v.as_string() {
            Some(s) => out.extend_from_slice(s.as_bytes()),
            None => payload::write_binary_record(&js::bytes(&v), &mut out),
        }
    }
    out
}
