//! Event listeners of a socket or manager, with component-emitter's semantics (the emitter
//! socket.io-client uses): listeners run in the order added, `once` ones are removed before
//! they run, and a listener added or removed during an emit does not change that emit.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::{Array, Function};
use wasm_bindgen::JsValue;

use crate::js;

/// What runs when an event fires: a JS function (called with the event's arguments spread)
/// or a Rust closure (given them as one array).
#[derive(Clone)]
pub enum Handler {
    /// A JavaScript function.
    Js(Function),
    /// A Rust closure.
    Rust(Rc<dyn Fn(&Array)>),
}

impl Handler {
    fn is(&self, f: &Function) -> bool {
        matches!(self, Handler::Js(g) if g == f)
    }

    pub(crate) fn run(&self, this: &JsValue, args: &Array) {
        match self {
            Handler::Js(f) => js::call(f, this, args),
            Handler::Rust(f) => f(args),
        }
    }
}

struct Listener {
    event: String,
    handler: Handler,
    once: bool,
}

/// The listeners of one event target.
#[derive(Default)]
pub(crate) struct Emitter {
    listeners: RefCell<Vec<Listener>>,
}

impl Emitter {
    pub(crate) fn on(&self, event: &str, handler: Handler, once: bool) {
        self.listeners.borrow_mut().push(Listener {
            event: String::from(event),
            handler,
            once,
        });
    }

    /// `off()`: every listener; `off(event)`: those of `event`; `off(event, f)`: the first
    /// registration of `f` for `event`.
    pub(crate) fn off(&self, event: Option<&str>, f: Option<&Function>) {
        let mut list = self.listeners.borrow_mut();
        match (event, f) {
            (None, _) => list.clear(),
            (Some(e), None) => list.retain(|l| l.event != e),
            (Some(e), Some(f)) => {
                if let Some(i) = list.iter().position(|l| l.event == e && l.handler.is(f)) {
                    list.remove(i);
                }
            }
        }
    }

    /// Runs the listeners of `event` with `args`; `this` is what JS listeners see as `this`.
    pub(crate) fn emit(&self, event: &str, this: &JsValue, args: &Array) {
        let run: Vec<Handler> = {
            let mut list = self.listeners.borrow_mut();
            let run = list
                .iter()
                .filter(|l| l.event == event)
                .map(|l| l.handler.clone())
                .collect();
            list.retain(|l| !(l.once && l.event == event));
            run
        };
        for h in &run {
            h.run(this, args);
        }
    }

    pub(crate) fn has(&self, event: &str) -> bool {
        self.listeners.borrow().iter().any(|l| l.event == event)
    }

    /// The JS functions listening to `event`.
    pub(crate) fn listeners(&self, event: &str) -> Array {
        let out = Array::new();
        for l in self.listeners.borrow().iter().filter(|l| l.event == event) {
            if let Handler::Js(f) = &l.handler {
                out.push(f);
            }
        }
        out
    }
}

/// Catch-all listeners (`onAny`, `onAnyOutgoing`): they get the event name first.
#[derive(Default)]
pub(crate) struct AnyListeners {
    list: RefCell<Vec<Handler>>,
}

impl AnyListeners {
    pub(crate) fn add(&self, h: Handler, prepend: bool) {
        let mut list = self.list.borrow_mut();
        if prepend {
            list.insert(0, h);
        } else {
            list.push(h);
        }
    }

    /// `offAny()`: all of them; `offAny(f)`: every registration of `f`.
    pub(crate) fn remove(&self, f: Option<&Function>) {
        let mut list = self.list.borrow_mut();
        match f {
            None => list.clear(),
            Some(f) => list.retain(|h| !h.is(f)),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.borrow().is_empty()
    }

    pub(crate) fn emit(&self, this: &JsValue, args: &Array) {
        let run: Vec<Handler> = self.list.borrow().clone();
        for h in &run {
            h.run(this, args);
        }
    }

    pub(crate) fn functions(&self) -> Array {
        let out = Array::new();
        for h in self.list.borrow().iter() {
            if let Handler::Js(f) = h {
                out.push(f);
            }
        }
        out
    }
}
