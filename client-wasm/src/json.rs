//! Rust values as event arguments (feature `serde`): [`Socket::emit_json`],
//! [`Socket::on_json`] and [`Socket::emit_with_ack_json`].
//!
//! Values cross between Rust and JS as JSON text (`serde_json` on the Rust side, the browser's
//! `JSON` on the other), so they carry what JSON carries: binary arguments (`ArrayBuffer`s)
//! and the ack function a server event may end with are not among them; use the `JsValue`
//! methods for those.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use sio_client::{io, Options};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Message {
//!     author: String,
//!     text: String,
//! }
//!
//! # async fn run() -> Result<(), sio_client::JsonError> {
//! let socket = io("http://127.0.0.1:3000/", Options::default()).expect("a valid URL");
//! // The arguments are a tuple: one element per argument.
//! socket.on_json("chat message", |args: Result<(Message,), _>| {
//!     if let Ok((msg,)) = args {
//!         let _ = (msg.author, msg.text);
//!     }
//! });
//! let msg = Message { author: "ann".into(), text: "hi".into() };
//! socket.emit_json("chat message", &(msg,))?;
//! let (count,): (u32,) = socket.timeout(5000.0).emit_with_ack_json("count", &()).await?;
//! # let _ = count;
//! # Ok(())
//! # }
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};

use crate::client::Socket;
use crate::js::{self, Array};

/// Why typed arguments could not be sent or read.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The value does not serialize to JSON, or the arguments do not deserialize as the
    /// requested type.
    #[error("arguments do not convert: {0}")]
    Json(#[from] serde_json::Error),
    /// The event name is reserved (`connect`, `disconnect`, …).
    #[error("\"{0}\" is a reserved event name")]
    Reserved(String),
    /// The ack did not come: the error that ended the wait (`operation has timed out`,
    /// `socket has been disconnected`), as the JS API reports it.
    #[error("no ack: {}", js::get(.0, "message").as_string().unwrap_or_default())]
    Ack(JsValue),
}

impl Socket {
    /// Sends `event` with `args` as its arguments: a tuple or an array gives one argument
    /// per element (`&(value,)` for one), `&()` none, and any other value is the only
    /// argument.
    pub fn emit_json<A: Serialize + ?Sized>(&self, event: &str, args: &A) -> Result<(), JsonError> {
        let args = to_js_args(args)?;
        self.emit(event, &args)
            .map_err(|_| JsonError::Reserved(String::from(event)))
    }

    /// Listens to `event`, its arguments deserialized as `T` (a tuple, one element per
    /// argument; or a `Vec` of one type). Arguments that do not fit `T` give the listener
    /// the error rather than nothing.
    pub fn on_json<T: DeserializeOwned>(
        &self,
        event: &str,
        f: impl Fn(Result<T, JsonError>) + 'static,
    ) {
        self.on(event, move |args| f(from_js_args(args)));
    }

    /// Sends `event` with `args` (as [`emit_json`](Self::emit_json)) and waits for the ack,
    /// its arguments deserialized as `R` (a tuple, one element per argument).
    pub fn emit_with_ack_json<A: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &A,
    ) -> impl Future<Output = Result<R, JsonError>> + use<A, R> {
        let sent = to_js_args(args).map(|args| {
            if js::reserved(event) {
                Err(JsonError::Reserved(String::from(event)))
            } else {
                Ok(self.emit_with_ack(event, &args))
            }
        });
        async move {
            let reply = sent??.await.map_err(JsonError::Ack)?;
            from_js_args(&reply)
        }
    }
}

/// The JS arguments `args` serializes to: the elements of a JSON array, none for `null`
/// (what `()` gives), else the value alone.
fn to_js_args<A: Serialize + ?Sized>(args: &A) -> Result<Vec<JsValue>, JsonError> {
    let text = serde_json::to_string(args)?;
    let value = js::parse(&JsValue::from_str(&text), &JsValue::UNDEFINED);
    Ok(if Array::is_array(&value) {
        value.unchecked_ref::<Array>().to_vec()
    } else if value.is_null() {
        Vec::new()
    } else {
        alloc::vec![value]
    })
}

/// `args` as one `T`, from the JSON array of them; no arguments are also `null` (`()`), as
/// in [`to_js_args`].
fn from_js_args<T: DeserializeOwned>(args: &[JsValue]) -> Result<T, JsonError> {
    let arr = Array::new();
    for a in args {
        arr.push(a);
    }
    let text = js::json(&arr, &Array::new())
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).or_else(|e| match args {
        [] => serde_json::from_str("null").map_err(|_| JsonError::Json(e)),
        _ => Err(JsonError::Json(e)),
    })
}
