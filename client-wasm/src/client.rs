//! The Rust API: the same manager and sockets as the JS API, with closures and futures.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::engine::Target;
use crate::js::{self, Array};
use crate::manager::Mgr;
use crate::opts::{Options, opt};
use crate::socket::Sock;

/// What an ack gets: the answer's arguments, or the error that ended the wait (`operation
/// has timed out`, `socket has been disconnected`, a reserved event name).
pub type AckResult = Result<Vec<JsValue>, JsValue>;

/// What the Rust API's handles of one manager share. When the last handle is dropped, the
/// manager ends once idle (at once if it is), with its sockets and listeners; one that is
/// still connected goes on, as a JS socket the page no longer references does.
struct Own(Rc<Mgr>);

impl Drop for Own {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// The emitter of `target` (a socket index, or `js::MANAGER`) of `mgr`.
fn emitter(mgr: &Mgr, target: i32) -> js::Emitter {
    js::target(mgr.h, target).unchecked_into()
}

/// A JS listener of `event` on `target` running `f`, kept by the manager until `off` or the
/// manager's end (the browser may call it as long as the manager runs).
fn listener(mgr: &Mgr, target: i32, event: &str, f: impl Fn(&[JsValue]) + 'static) -> JsValue {
    let cb = Closure::<dyn Fn(Array)>::new(move |args: Array| f(&args.to_vec()));
    let js = js::spread(cb.as_ref());
    mgr.closures
        .borrow_mut()
        .push((target, String::from(event), Box::new(cb)));
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
    own: Rc<Own>,
}

impl Manager {
    /// A manager for the server of `url` (its path is ignored). `None` for an invalid URL.
    pub fn new(url: &str, opts: Options) -> Option<Manager> {
        let parsed = crate::url::parse(&JsValue::from_str(url))?;
        Some(Self::with_target(&parsed, opts))
    }

    pub(crate) fn with_target(url: &crate::url::Parsed, opts: Options) -> Manager {
        let cfg = opts.config();
        let mut target = Target::new(url.secure, url.host.clone(), Some(opts.path), &cfg);
        target.set(
            JsValue::from_str(&crate::url::query(&opts.query, &url.query)),
            crate::url::headers(&opts.extra_headers),
            opts.protocols,
            &cfg,
        );
        #[cfg(feature = "webtransport")]
        target.set_webtransport(opts.webtransport);
        js::set_dispatch(&wasm_bindgen::exports());
        let js: JsValue = js::emitter().into();
        let mgr = Mgr::new(cfg, opts.auth, target, &js, true);
        #[cfg(feature = "parser")]
        mgr.use_parser(&opts.parser);
        Manager {
            own: Rc::new(Own(mgr)),
        }
    }

    fn mgr(&self) -> &Rc<Mgr> {
        &self.own.0
    }

    /// The socket of namespace `nsp` (created on first use; connected at once when
    /// `auto_connect`).
    pub fn socket(&self, nsp: &str) -> Socket {
        let mgr = self.mgr();
        let cfg = mgr.cfg.get();
        let i = mgr.socket(
            &JsValue::from_str(nsp),
            &cfg,
            &mgr.auth,
            &js::emitter().into(),
        );
        let Some(sock) = mgr.sock(i) else {
            unreachable!("Mgr::socket returns the index of a socket")
        };
        if cfg.flag(opt::AUTO_CONNECT) && !sock.active() {
            sock.connect();
        }
        mgr.settle();
        Socket {
            own: self.own.clone(),
            inner: sock,
            flags: Rc::default(),
        }
    }

    /// Listens to a manager event.
    pub fn on(&self, event: &str, f: impl Fn(&[JsValue]) + 'static) {
        let mgr = self.mgr();
        let f = listener(mgr, js::MANAGER, event, f);
        emitter(mgr, js::MANAGER).on(event, &f);
    }

    /// Opens the connection (when `auto_connect` is off).
    pub fn open(&self) {
        self.mgr().open();
        self.mgr().settle();
    }

    /// Closes the connection; no reconnection.
    pub fn close(&self) {
        self.mgr().close();
        self.mgr().settle();
    }

    /// The transport in use (`"polling"`, `"websocket"`), while a session exists.
    pub fn transport(&self) -> Option<&'static str> {
        self.mgr().transport_name()
    }
}

/// A socket: one namespace of a [`Manager`]'s connection. Reserved events: `connect`,
/// `connect_error` (an `Error` whose `data` is the server's), `disconnect` (reason,
/// description).
#[derive(Clone)]
pub struct Socket {
    own: Rc<Own>,
    pub(crate) inner: Rc<Sock>,
    /// The next emit's modifiers: `volatile`, and `timeout`.
    flags: Rc<Cell<(bool, Option<f64>)>>,
}

impl Socket {
    fn listen(&self, event: &str, f: impl Fn(&[JsValue]) + 'static) -> (js::Emitter, JsValue) {
        let (mgr, i) = (&self.own.0, self.inner.index);
        (emitter(mgr, i), listener(mgr, i, event, f))
    }

    /// Listens to `event`; the closure gets the event's arguments. When the server asked
    /// for an ack, the last argument is a JS function to call with the answer.
    pub fn on(&self, event: &str, f: impl Fn(&[JsValue]) + 'static) {
        let (em, f) = self.listen(event, f);
        em.on(event, &f);
    }

    /// Like [`on`](Self::on), for the next occurrence only.
    pub fn once(&self, event: &str, f: impl Fn(&[JsValue]) + 'static) {
        let (em, f) = self.listen(event, f);
        em.once(event, &f);
    }

    /// Removes every listener of `event`.
    pub fn off(&self, event: &str) {
        let (mgr, i) = (&self.own.0, self.inner.index);
        emitter(mgr, i).off(event);
        // Taken out before they drop: one of them may be the listener running now.
        let gone: Vec<_> = {
            let mut all = mgr.closures.borrow_mut();
            let (gone, kept) = core::mem::take(&mut *all)
                .into_iter()
                .partition(|(t, e, _)| *t == i && e == event);
            *all = kept;
            gone
        };
        drop(gone);
    }

    /// Listens to every incoming event; the closure gets the name first.
    pub fn on_any(&self, f: impl Fn(&[JsValue]) + 'static) {
        let (em, f) = self.listen("", f);
        em.on_any(&f);
    }

    /// Sends `event` with `args` (buffered while disconnected). `Err` for a reserved name.
    pub fn emit(&self, event: &str, args: &[JsValue]) -> Result<(), JsValue> {
        self.send(event, args, &JsValue::UNDEFINED)
    }

    fn send(&self, event: &str, args: &[JsValue], ack: &JsValue) -> Result<(), JsValue> {
        if js::reserved(event) {
            let mut msg = String::from("\"");
            msg.push_str(event);
            msg.push_str("\" is a reserved event name");
            return Err(js::error(&msg, &JsValue::UNDEFINED));
        }
        let (volatile, timeout) = self.flags.take();
        let arr = Array::new();
        for a in args {
            arr.push(a);
        }
        let (mgr, i) = (&self.own.0, self.inner.index);
        js::send(
            &js::target(mgr.h, i),
            &JsValue::from_str(event),
            &arr,
            ack,
            1,
            i32::from(volatile),
            timeout.unwrap_or(f64::NAN),
        );
        mgr.settle();
        Ok(())
    }

    /// Sends `event` and waits for the server's ack: its arguments, or the error that ended
    /// the wait (a [`timeout`](Self::timeout), a disconnection, a reserved name).
    pub fn emit_with_ack(&self, event: &str, args: &[JsValue]) -> AckFuture {
        let state = Rc::new(RefCell::new(AckState::default()));
        let s = state.clone();
        // Error-first: `[null, ...answer]` or `[error]`. (The JS function owns the closure;
        // wasm-bindgen frees it once called, or once the function is garbage.)
        let ack = js::spread(&Closure::once_into_js(move |reply: Array| {
            let mut reply = reply.to_vec();
            let first = if reply.is_empty() {
                JsValue::NULL
            } else {
                reply.remove(0)
            };
            AckState::resolve(
                &s,
                if first.is_null() {
                    Ok(reply)
                } else {
                    Err(first)
                },
            );
        }));
        if let Err(e) = self.send(event, args, &ack) {
            AckState::resolve(&state, Err(e));
        }
        AckFuture { state }
    }

    /// The next emit's ack fails with `operation has timed out` after `ms`.
    pub fn timeout(&self, ms: f64) -> &Self {
        self.flags.set((self.flags.get().0, Some(ms)));
        self
    }

    /// The next emit is dropped unless it can be sent at once.
    pub fn volatile(&self) -> &Self {
        self.flags.set((true, self.flags.get().1));
        self
    }

    /// Connects (again) after [`disconnect`](Self::disconnect) or without `auto_connect`.
    pub fn connect(&self) {
        self.inner.connect();
        self.own.0.settle();
    }

    /// Leaves the namespace; the socket does not reconnect.
    pub fn disconnect(&self) {
        self.inner.disconnect();
        self.own.0.settle();
    }

    /// The session id of this namespace connection, while connected.
    pub fn id(&self) -> Option<String> {
        js::info(self.own.0.h, self.inner.index).at(0).as_string()
    }

    /// Whether the socket is connected to its namespace.
    pub fn connected(&self) -> bool {
        self.inner.connected()
    }

    /// Whether the last connection recovered the session of the one before it (connection
    /// state recovery on the server: the same id and rooms, and the events missed meanwhile
    /// delivered first), as socket.io-client's `socket.recovered`.
    pub fn recovered(&self) -> bool {
        js::info(self.own.0.h, self.inner.index).at(1).is_truthy()
    }

    /// The manager this socket belongs to.
    pub fn manager(&self) -> Manager {
        Manager {
            own: self.own.clone(),
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
