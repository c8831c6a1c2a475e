//! The Rust API: the same manager and sockets as the JS API, with closures and futures.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;

use crate::engine::Target;
use crate::js::{self, Array};
use crate::manager::Mgr;
use crate::opts::{Options, opt};
use crate::socket::{Ack, Reply, Sock};

/// What an ack gets: the answer's arguments, or the error that ended the wait (`operation
/// has timed out`, `socket has been disconnected`, a reserved event name).
pub type AckResult = Result<Vec<JsValue>, JsValue>;

/// Rust listeners, kept alive as long as the handle that registered them.
type Listeners = Rc<RefCell<Vec<Closure<dyn Fn(Array)>>>>;

/// A JS listener running `f`, kept alive in `keep`.
fn listener(keep: &Listeners, f: impl Fn(&[JsValue]) + 'static) -> JsValue {
    let cb = Closure::<dyn Fn(Array)>::new(move |args: Array| f(&args.to_vec()));
    let js = js::spread(&cb);
    keep.borrow_mut().push(cb);
    js
}

/// Connects to the namespace of `url` (`http://host:port/namespace`) on a new [`Manager`].
/// `None` when `url` is not a valid URL. Use [`Manager::socket`] to share one connection
/// between namespaces.
pub fn io(url: &str, opts: Options) -> Option<Socket> {
    let parsed = crate::url::parse(&JsValue::from_str(url))?;
    let manager = Manager::with_target(&parsed, opts);
    Some(manager.socket(&parsed.nsp))
}

/// One connection to a server (an Engine.IO session), reconnected when lost, shared by the
/// sockets of its namespaces. Manager events: `open`, `error`, `close`, `ping`,
/// `reconnect_attempt`, `reconnect`, `reconnect_error`, `reconnect_failed`.
#[derive(Clone)]
pub struct Manager {
    pub(crate) inner: &'static Mgr,
    keep: Listeners,
}

impl Manager {
    /// A manager for the server of `url` (its path is ignored). `None` for an invalid URL.
    pub fn new(url: &str, opts: Options) -> Option<Manager> {
        let parsed = crate::url::parse(&JsValue::from_str(url))?;
        Some(Self::with_target(&parsed, opts))
    }

    pub(crate) fn with_target(url: &crate::url::Parsed, opts: Options) -> Manager {
        let cfg = opts.config();
        let target = Target::new(
            url.secure,
            url.host.clone(),
            Some(opts.path),
            crate::url::query(&opts.query, &url.query),
            crate::url::headers(&opts.extra_headers),
            opts.protocols,
            &cfg,
        );
        Manager {
            inner: Mgr::new(cfg, opts.auth, target, js::emitter()),
            keep: Listeners::default(),
        }
    }

    /// The socket of namespace `nsp` (created on first use; connected at once when
    /// `auto_connect`).
    pub fn socket(&self, nsp: &str) -> Socket {
        let cfg = self.inner.cfg.get();
        let i = self.inner.socket(nsp, &cfg, &self.inner.auth, js::emitter);
        let Some(sock) = self.inner.sock(i) else {
            unreachable!("Mgr::socket returns the index of a socket")
        };
        if cfg.flag(opt::AUTO_CONNECT) && !sock.active() {
            sock.connect();
        }
        Socket {
            inner: sock,
            keep: Listeners::default(),
        }
    }

    /// Listens to a manager event.
    pub fn on(&self, event: &str, f: impl Fn(&[JsValue]) + 'static) {
        self.inner.js.on(event, &listener(&self.keep, f));
    }

    /// Opens the connection (when `auto_connect` is off).
    pub fn open(&self) {
        self.inner.open();
    }

    /// Closes the connection; no reconnection.
    pub fn close(&self) {
        self.inner.close();
    }

    /// The transport in use (`"polling"`, `"websocket"`), while a session exists.
    pub fn transport(&self) -> Option<&'static str> {
        self.inner.transport_name()
    }
}

/// A socket: one namespace of a [`Manager`]'s connection. Reserved events: `connect`,
/// `connect_error` (an `Error` whose `data` is the server's), `disconnect` (reason,
/// description).
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: &'static Sock,
    keep: Listeners,
}

impl Socket {
    /// Listens to `event`; the closure gets the event's arguments. When the server asked
    /// for an ack, the last argument is a JS function to call with the answer.
    pub fn on(&self, event: &str, f: impl Fn(&[JsValue]) + 'static) {
        self.inner.js.on(event, &listener(&self.keep, f));
    }

    /// Like [`on`](Self::on), for the next occurrence only.
    pub fn once(&self, event: &str, f: impl Fn(&[JsValue]) + 'static) {
        self.inner.js.once(event, &listener(&self.keep, f));
    }

    /// Removes every listener of `event`.
    pub fn off(&self, event: &str) {
        self.inner.js.off(event);
    }

    /// Listens to every incoming event; the closure gets the name first.
    pub fn on_any(&self, f: impl Fn(&[JsValue]) + 'static) {
        self.inner.js.on_any(&listener(&self.keep, f));
    }

    /// Sends `event` with `args` (buffered while disconnected). `Err` for a reserved name.
    pub fn emit(&self, event: &str, args: &[JsValue]) -> Result<(), JsValue> {
        self.send(event, args, None)
    }

    fn send(&self, event: &str, args: &[JsValue], ack: Option<Ack>) -> Result<(), JsValue> {
        if js::reserved(event) {
            let mut msg = String::from("\"");
            msg.push_str(event);
            msg.push_str("\" is a reserved event name");
            return Err(js::err(&msg));
        }
        let flags = core::mem::take(&mut self.inner.st.borrow_mut().flags);
        let arr = Array::new();
        for a in args {
            arr.push(a);
        }
        self.inner.emit(JsValue::from_str(event), arr, ack, flags);
        Ok(())
    }

    /// Sends `event` and waits for the server's ack: its arguments, or the error that ended
    /// the wait (a [`timeout`](Self::timeout), a disconnection, a reserved name).
    pub fn emit_with_ack(&self, event: &str, args: &[JsValue]) -> AckFuture {
        let state = Rc::new(RefCell::new(AckState::default()));
        let s = state.clone();
        let ack = Ack {
            cb: Box::new(move |res: Reply, _| AckState::resolve(&s, res.map(|a| a.to_vec()))),
            with_error: true,
        };
        if let Err(e) = self.send(event, args, Some(ack)) {
            AckState::resolve(&state, Err(e));
        }
        AckFuture { state }
    }

    /// The next emit's ack fails with `operation has timed out` after `ms`.
    pub fn timeout(&self, ms: f64) -> &Self {
        self.inner.st.borrow_mut().flags.timeout = Some(ms);
        self
    }

    /// The next emit is dropped unless it can be sent at once.
    pub fn volatile(&self) -> &Self {
        self.inner.st.borrow_mut().flags.volatile = true;
        self
    }

    /// Connects (again) after [`disconnect`](Self::disconnect) or without `auto_connect`.
    pub fn connect(&self) {
        self.inner.connect();
    }

    /// Leaves the namespace; the socket does not reconnect.
    pub fn disconnect(&self) {
        self.inner.disconnect();
    }

    /// The session id of this namespace connection, while connected.
    pub fn id(&self) -> Option<String> {
        self.inner.st.borrow().id.as_string()
    }

    /// Whether the socket is connected to its namespace.
    pub fn connected(&self) -> bool {
        self.inner.connected()
    }

    /// The manager this socket belongs to.
    pub fn manager(&self) -> Manager {
        Manager {
            inner: self.inner.mgr,
            keep: Listeners::default(),
        }
    }
}

#[derive(Default)]
struct AckState {
    result: Option<AckResult>,
    waker: Option<Waker>,
}

impl AckState {
    fn resolve(state: &Rc<RefCell<AckState>>, res: AckResult) {
        let waker = {
            let mut s = state.borrow_mut();
            s.result = Some(res);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The answer to [`Socket::emit_with_ack`].
pub struct AckFuture {
    state: Rc<RefCell<AckState>>,
}

impl Future for AckFuture {
    type Output = AckResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<AckResult> {
        let mut s = self.state.borrow_mut();
        match s.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
