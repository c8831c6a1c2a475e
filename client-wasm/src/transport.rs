//! The two ways an Engine.IO session moves frames: a WebSocket, or HTTP long-polling with
//! `fetch` (one GET waiting for the server, at most one POST carrying the client's frames).
//!
//! A transport only does I/O. Its browser callbacks go to the manager's callback, their kind
//! naming the transport's id (`kind::Kind::Transport`), so events of a transport that was
//! replaced or closed are dropped there.

// With one transport feature, `Io` has one variant and its `if let`s cannot fail.
#![cfg_attr(
    not(all(feature = "websocket", feature = "polling")),
    allow(irrefutable_let_patterns)
)]

#[cfg(feature = "polling")]
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;

#[cfg(feature = "polling")]
use crate::js::Array;
use crate::js::{self, Handle};
use crate::kind::{self, Op};
use crate::opts::TransportKind;

/// A frame on its way out: a whole Engine.IO text packet as a JS string (so a WebSocket
/// sends it without a copy through wasm memory), or a binary message (`ArrayBuffer`, a typed
/// array or a `Blob`).
pub(crate) type Out = JsValue;

pub(crate) struct Transport {
    pub(crate) id: u32,
    pub(crate) kind: TransportKind,
    /// Ready to take frames: a WebSocket is open, or no POST is in flight.
    pub(crate) writable: bool,
    closed: bool,
    io: Io,
}

enum Io {
    /// A WebSocket, or (feature `webtransport`) glue.js's WebSocket-like WebTransport.
    #[cfg(any(feature = "websocket", feature = "webtransport"))]
    Ws { ws: JsValue },
    #[cfg(feature = "polling")]
    Polling(Polling),
}

#[cfg(feature = "polling")]
struct Polling {
    url: JsValue,
    headers: JsValue,
    /// glue.js `request` flags: 1 credentials (`withCredentials`), 2 a cache-busting `t`
    /// parameter (`timestampRequests`).
    flags: i32,
    get: Option<JsValue>,
    /// The POST in flight, or the reading of the Blobs it will carry.
    post: Option<JsValue>,
    h: Handle,
    /// The transport's id, for the kinds of its requests.
    id: u32,
}

/// Where and how to connect, shared by every transport of a session.
pub(crate) struct Endpoint<'a> {
    pub(crate) secure: bool,
    /// `host[:port]/path/`.
    pub(crate) base: &'a JsValue,
    /// `k=v&…`, already encoded, without `EIO`/`transport`/`sid` (undefined: none).
    pub(crate) query: &'a JsValue,
    /// The session id, or undefined.
    pub(crate) sid: &'a JsValue,
    #[cfg_attr(not(feature = "polling"), allow(dead_code))]
    pub(crate) headers: &'a JsValue,
    #[cfg_attr(not(feature = "polling"), allow(dead_code))]
    pub(crate) credentials: bool,
    #[cfg_attr(not(feature = "polling"), allow(dead_code))]
    pub(crate) timestamps: bool,
    #[cfg_attr(not(feature = "websocket"), allow(dead_code))]
    pub(crate) protocols: &'a JsValue,
    /// The browser's `WebTransport` options.
    #[cfg(feature = "webtransport")]
    pub(crate) wt_options: &'a JsValue,
}

impl Endpoint<'_> {
    /// The URL of a transport here, WebSocket's or polling's (glue.js `endpoint`).
    fn url(&self, ws: bool) -> JsValue {
        js::endpoint(
            i32::from(self.secure),
            self.base,
            self.query,
            i32::from(ws),
            self.sid,
        )
    }
}

impl Transport {
    /// Opens a transport; its events come back through `h`, tagged with `id`.
    pub(crate) fn open(id: u32, kind: TransportKind, at: &Endpoint<'_>, h: Handle) -> Self {
        match kind {
            #[cfg(feature = "websocket")]
            TransportKind::WebSocket => {
                let ws = js::ws_open(&at.url(true), at.protocols, h, kind::transport(id, Op::Get));
                Transport {
                    id,
                    kind,
                    writable: false,
                    closed: false,
                    io: Io::Ws { ws },
                }
            }
            #[cfg(feature = "webtransport")]
            TransportKind::WebTransport => {
                let ws = js::wt_open(
                    at.base,
                    at.wt_options,
                    at.sid,
                    h,
                    kind::transport(id, Op::Get),
                );
                Transport {
                    id,
                    kind,
                    writable: false,
                    closed: false,
                    io: Io::Ws { ws },
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
                        url: at.url(false),
                        headers: at.headers.clone(),
                        flags: i32::from(at.credentials) | i32::from(at.timestamps) << 1,
                        get: None,
                        post: None,
                        h,
                        id,
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
    pub(crate) fn set_sid(&mut self, sid: &JsValue) {
        if let Io::Polling(p) = &mut self.io {
            p.url = js::add_sid(&p.url, sid);
        }
    }

    /// Polling: starts the next GET unless one is waiting already.
    pub(crate) fn poll(&mut self) {
        #[cfg(feature = "polling")]
        if let Io::Polling(p) = &mut self.io {
            if p.get.is_none() {
                p.get = Some(js::request(
                    &p.url,
                    &JsValue::UNDEFINED,
                    &p.headers,
                    p.flags,
                    p.h,
                    kind::transport(p.id, Op::Get),
                    &JsValue::UNDEFINED,
                ));
            }
        }
    }

    /// Polling: the GET, POST or Blob reading `op` finished, well or not.
    pub(crate) fn request_done(&mut self, op: Op) {
        #[cfg(feature = "polling")]
        if let Io::Polling(p) = &mut self.io {
            match op {
                Op::Get => p.get = None,
                Op::Post => {
                    p.post = None;
                    self.writable = true;
                }
                Op::Blobs => p.post = None,
            }
        }
        let _ = op;
    }

    /// Polling: no request in flight, so the transport can be swapped for the WebSocket.
    pub(crate) fn is_idle(&self) -> bool {
        match &self.io {
            #[cfg(feature = "polling")]
            Io::Polling(p) => p.get.is_none() && p.post.is_none(),
            #[cfg(any(feature = "websocket", feature = "webtransport"))]
            Io::Ws { .. } => true,
        }
    }

    /// Sends frames. A WebSocket sends each at once and stays writable; polling sends one
    /// POST and is writable again when it is answered (`request_done`).
    pub(crate) fn send(&mut self, frames: &[Out]) {
        match &mut self.io {
            #[cfg(any(feature = "websocket", feature = "webtransport"))]
            Io::Ws { .. } => self.send_ws(frames),
            #[cfg(feature = "polling")]
            Io::Polling(p) => {
                self.writable = false;
                let parts = array(frames);
                if frames.iter().any(js::is_blob) {
                    // Read the Blobs first; the POST goes out when they are (`Op::Blobs`).
                    p.post = Some(js::unblob(&parts, p.h, kind::transport(p.id, Op::Blobs)));
                } else {
                    p.post_body(&js::payload(&parts));
                }
            }
        }
    }

    #[cfg(any(feature = "websocket", feature = "webtransport"))]
    fn send_ws(&self, frames: &[Out]) {
        if let Io::Ws { ws, .. } = &self.io {
            for f in frames {
                js::ws_send(ws, f);
            }
        }
    }

    /// Polling: the Blobs of a send were read; `parts` are strings and buffers now.
    #[cfg(feature = "polling")]
    pub(crate) fn blobs_read(&mut self, parts: &JsValue) {
        if let Io::Polling(p) = &mut self.io {
            p.post_body(&js::payload(parts.unchecked_ref()));
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
            #[cfg(any(feature = "websocket", feature = "webtransport"))]
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
                // Likewise, on a goodbye the POST in flight goes through (the close packet
                // follows it).
                for r in [&p.get, &p.post].into_iter().flatten() {
                    js::abort(r, i32::from(bye.is_some()));
                }
                if let Some(rest) = bye {
                    let parts = array(rest);
                    parts.push(&js::word(js::word::CLOSE));
                    let body = js::payload(&parts);
                    // Fire and forget: nobody listens for the answer.
                    js::request(
                        &p.url,
                        &body,
                        &p.headers,
                        p.flags,
                        0,
                        0,
                        p.post.as_ref().unwrap_or(&JsValue::UNDEFINED),
                    );
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
    fn post_body(&mut self, body: &JsValue) {
        self.post = Some(js::request(
            &self.url,
            body,
            &self.headers,
            self.flags,
            self.h,
            kind::transport(self.id, Op::Post),
            &JsValue::UNDEFINED,
        ));
    }
}

/// `frames` as a JS array.
#[cfg(feature = "polling")]
fn array(frames: &[Out]) -> Array {
    let parts = Array::new();
    for f in frames {
        parts.push(f);
    }
    parts
}
