//! Rust values as event arguments (feature `serde`): [`Socket::emit_serde`],
//! [`Socket::on_serde`] and [`Socket::emit_with_ack_serde`].
//!
//! Values cross between Rust and JS through `serde-wasm-bindgen`, so they carry what the JS
//! API carries: JSON-like values, and binary as `serde_bytes` types (`ByteBuf`, `Bytes`),
//! which go out as attachments and come back from an `ArrayBuffer`. The ack function a
//! server event may end with is not a value; use the `JsValue` methods for such events.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use sio_client::{io, Options};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Message {
//!     author: String,
//!     text: String,
//!     #[serde(with = "serde_bytes")]
//!     avatar: Vec<u8>,
//! }
//!
//! # async fn run() -> Result<(), sio_client::ArgsError> {
//! let socket = io("http://127.0.0.1:3000/", Options::default()).expect("a valid URL");
//! // The arguments are a tuple: one element per argument.
//! socket.on_serde("chat message", |args: Result<(Message,), _>| {
//!     if let Ok((msg,)) = args {
//!         let _ = (msg.author, msg.text, msg.avatar.len());
//!     }
//! });
//! let msg = Message { author: "ann".into(), text: "hi".into(), avatar: vec![1, 2, 3] };
//! socket.emit_serde("chat message", &(msg,))?;
//! let (count,): (u32,) = socket.timeout(5000.0).emit_with_ack_serde("count", &()).await?;
//! # let _ = count;
//! # Ok(())
//! # }
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_wasm_bindgen::Serializer;
use wasm_bindgen::{JsCast, JsValue};

use crate::client::Socket;
use crate::js::{self, Array};

/// Why typed arguments could not be sent or read.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// The value does not serialize to JS, or the arguments do not deserialize as the
    /// requested type.
    #[error("arguments do not convert: {0}")]
    Convert(#[from] serde_wasm_bindgen::Error),
    /// The event name is reserved (`connect`, `disconnect`, …).
    #[error("\"{0}\" is a reserved event name")]
    Reserved(String),
    /// The ack did not come: the error that ended the wait (`operation has timed out`,
    /// `socket has been disconnected`), as the JS API reports it.
    #[error("no ack: {}", js::get(.0, js::word::MESSAGE).as_string().unwrap_or_default())]
    Ack(JsValue),
}

impl Socket {
    /// Sends `event` with `args` as its arguments: a tuple or a sequence gives one argument
    /// per element (`&(value,)` for one), `&()` none, and any other value is the only
    /// argument.
    pub fn emit_serde<A: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &A,
    ) -> Result<(), ArgsError> {
        let args = to_js_args(args)?;
        self.emit(event, &args)
            .map_err(|_| ArgsError::Reserved(String::from(event)))
    }

    /// Listens to `event`, its arguments deserialized as `T` (a tuple, one element per
    /// argument; or a `Vec` of one type). Arguments that do not fit `T` give the listener
    /// the error rather than nothing.
    pub fn on_serde<T: DeserializeOwned>(
        &self,
        event: &str,
        f: impl Fn(Result<T, ArgsError>) + 'static,
    ) {
        self.on(event, move |args| f(from_js_args(args)));
    }

    /// Sends `event` with `args` (as [`emit_serde`](Self::emit_serde)) and waits for the
    /// ack, its arguments deserialized as `R` (a tuple, one element per argument).
    pub fn emit_with_ack_serde<A: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &A,
    ) -> impl Future<Output = Result<R, ArgsError>> + use<A, R> {
        let sent = to_js_args(args).map(|args| {
            if js::reserved(event) {
                Err(ArgsError::Reserved(String::from(event)))
            } else {
                Ok(self.emit_with_ack(event, &args))
            }
        });
        async move {
            let reply = sent??.await.map_err(ArgsError::Ack)?;
            from_js_args(&reply)
        }
    }
}

/// The JS arguments `args` serializes to: the elements of an array, none for `()`, else the
/// value alone. Maps become plain objects and `None` is `null`, as JSON has them.
fn to_js_args<A: Serialize + ?Sized>(args: &A) -> Result<Vec<JsValue>, ArgsError> {
    // As `json_compatible()`, but bytes stay a Uint8Array: an attachment on the wire.
    let ser = Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    let value = args.serialize(&ser)?;
    Ok(if Array::is_array(&value) {
        value.unchecked_ref::<Array>().to_vec()
    } else if value.is_null() || value.is_undefined() {
        Vec::new()
    } else {
        alloc::vec![value]
    })
}

/// `args` as one `T`, from the array of them; no arguments are also `()`, as in
/// [`to_js_args`].
fn from_js_args<T: DeserializeOwned>(args: &[JsValue]) -> Result<T, ArgsError> {
    let arr = Array::new();
    for a in args {
        arr.push(a);
    }
    serde_wasm_bindgen::from_value(arr.into()).or_else(|e| match args {
        [] => serde_wasm_bindgen::from_value(JsValue::NULL).map_err(|_| ArgsError::Convert(e)),
        _ => Err(ArgsError::Convert(e)),
    })
}
