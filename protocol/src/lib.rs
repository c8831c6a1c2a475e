//! Sans-IO wire codecs for Engine.IO v4 and Socket.IO v5.
//!
//! This crate is the only place where sio encodes or decodes packets. It does no I/O and
//! depends on neither tokio nor web-sys, so the server and the wasm client share it.
//!
//! The layers, bottom up:
//!
//! - [`engine`]: Engine.IO packets (`0`open … `6`noop) and the [`engine::Frame`] a transport
//!   sends: one WebSocket message, or one record of a polling payload.
//! - [`payload`]: HTTP long-polling bodies (records separated by `\x1e`, binary as `b<base64>`).
//! - [`socket`]: Socket.IO packet headers (type, attachment count, namespace, ack id). The
//!   JSON body stays raw text: decoding never builds JSON values.
//! - [`binary`]: reassembly of binary attachments that follow a `BINARY_EVENT`/`BINARY_ACK`.
//! - [`handshake`]: the Engine.IO open packet.
//! - [`webtransport`]: Engine.IO packets framed on a WebTransport stream (length-prefixed).
//! - [`json`] (feature `json`): typed arguments through serde_json, with binary placeholders
//!   (`{"_placeholder":true,"num":N}`) mapped to [`json::Binary`] at any depth.
//! - [`msgpack`] (feature `msgpack`): notepack.io's MessagePack, and Socket.IO packets in the
//!   form of `socket.io-msgpack-parser` ([`msgpack::packet`]).
//!
//! ```
//! use sio_protocol::{engine, socket};
//!
//! // An event as it arrives in a WebSocket text frame.
//! let engine::Packet::Message(text) = engine::decode_text("42/chat,7[\"hi\",1]")? else {
//!     unreachable!()
//! };
//! let packet = socket::decode(text)?;
//! assert_eq!(packet.kind, socket::PacketType::Event);
//! assert_eq!((packet.nsp, packet.id, packet.data), ("/chat", Some(7), "[\"hi\",1]"));
//! # Ok::<(), sio_protocol::DecodeError>(())
//! ```

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod base64;
pub mod binary;
pub mod engine;
mod error;
pub mod handshake;
#[cfg(feature = "json")]
pub mod json;
pub mod jsonstr;
#[cfg(feature = "msgpack")]
pub mod msgpack;
pub mod payload;
pub mod socket;
pub mod webtransport;

pub use error::DecodeError;
