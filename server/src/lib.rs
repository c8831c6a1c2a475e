//! A Socket.IO v5 server (Engine.IO v4) on tokio, wire-compatible with Node's `socket.io`
//! 4.x and its official clients.
//!
//! It mounts as a tower layer on axum (or any tower/hyper stack); everything outside its
//! path (`/socket.io/` by default) goes through to the app.
//!
//! ```
//! use axum::Router;
//! use futures_util::{SinkExt, StreamExt};
//! use sio_server::SocketIo;
//! use tokio_tungstenite::tungstenite::Message;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let (layer, io) = SocketIo::builder().build_layer();
//!     io.ns("/", |socket| {
//!         socket.join("lobby");
//!         socket.on("chat message", |socket, mut ev| {
//!             let Ok(text) = ev.arg::<String>(0) else { return };
//!             // Everyone in the lobby but the sender, then confirm to the sender.
//!             let _ = socket.to("lobby").emit("chat message", &text);
//!             let _ = ev.ack(&"delivered");
//!         });
//!     });
//!     let app = Router::new().layer(layer);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let port = listener.local_addr()?.port();
//!     tokio::spawn(async move { axum::serve(listener, app).await });
//!
//!     // A client speaking the wire protocol: what socket.io-client does underneath.
//!     let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
//!     let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
//!     ws.send(Message::text("40")).await?; // connect to "/"
//!     ws.send(Message::text(r#"421["chat message","hi"]"#)).await?; // event, ack id 1
//!     let mut got = Vec::new();
//!     while got.len() < 3 {
//!         if let Some(Ok(Message::Text(t))) = ws.next().await {
//!             got.push(t.to_string());
//!         }
//!     }
//!     assert!(got[0].starts_with("0{\"sid\":")); // Engine.IO open
//!     assert!(got[1].starts_with("40{\"sid\":")); // connected to "/"
//!     assert_eq!(got[2], r#"431["delivered"]"#); // the ack
//!     Ok(())
//! }
//! ```
//!
//! # Handlers: closures, typed arguments, shared state
//!
//! A handler is a closure that gets its socket and the [`Event`]; it reads the arguments
//! it wants, typed, and decides what a bad one means (with socketioxide's `Data<T>`
//! extractor, an argument that does not parse means the handler is not called: a log line
//! at most, and the client's ack never comes; `TryData<T>` hands the error over). Shared
//! state is whatever the closure captures, typed by the compiler, with no registry and no
//! lookup per event: an `Arc` of the app's state, cloned into each closure. Emits take
//! owned values or references, one (`&x`) or a tuple (`(a, b)`).
//!
//! ```no_run
//! use std::sync::{Arc, Mutex};
//! use sio_server::SocketIo;
//!
//! #[derive(Default)]
//! struct Scores(Mutex<std::collections::HashMap<String, u32>>);
//!
//! # fn f(io: SocketIo) {
//! let scores = Arc::new(Scores::default());
//! io.ns("/game", move |socket| {
//!     let scores = scores.clone();
//!     socket.on("score", move |socket, mut ev| {
//!         // `["score", "ada", 3]`: both arguments in one call, typed.
//!         let Ok((player, points)) = ev.args().all::<(String, u32)>() else {
//!             let _ = ev.ack(&"expected (name, points)");
//!             return;
//!         };
//!         let total = {
//!             let mut all = scores.0.lock().unwrap_or_else(|e| e.into_inner());
//!             let t = all.entry(player.clone()).or_default();
//!             *t += points;
//!             *t
//!         };
//!         let _ = socket.broadcast().emit("scored", (player, total)); // owned values
//!         let _ = ev.ack(&total);
//!     });
//! });
//! # }
//! ```
//!
//! The layers inside, bottom up: [`engine`] (sessions, transports, heartbeat; no
//! Socket.IO), the client (packets of one session to its sockets), [`Namespace`]s and their
//! [`Socket`]s, and the [`adapter`] behind every room and broadcast operation.
//! Packets are encoded by `sio-protocol`, once per broadcast.

mod ack;
pub mod adapter;
#[cfg(feature = "admin")]
pub mod admin;
mod args;
mod broadcast;
mod catch;
mod client;
#[cfg(feature = "client-bundle")]
mod client_bundle;
pub mod config;
mod conn;
pub mod engine;
mod error;
mod handshake;
mod io;
#[cfg(feature = "metrics")]
pub mod metrics;
mod namespace;
mod observe;
mod packet;
pub mod recovery;
mod serve;
mod server_side;
mod service;
mod sid;
mod socket;
pub mod stats;
mod time;
#[cfg(feature = "webtransport")]
pub mod webtransport;

pub use ack::AckFuture;
pub use adapter::{
    Adapter, AdapterError, AdapterFuture, BroadcastOptions, BroadcastPacket, LocalNamespace,
    LocalSockets, MemoryAdapter, RemoteAcks, RemoteAcksFuture, RemoteSocket, Room,
    ServerSideFuture,
};
pub use args::{ArgError, Args, EmitArgs, FromArgs, RawArgs, ValueArgs};
pub use broadcast::{AckResponse, BroadcastOperator, IntoRooms};
#[cfg(feature = "client-bundle")]
pub use client_bundle::{CLIENT_FILES, ClientBundle, ClientBundleBody, ClientBundleService};
pub use config::{Config, Transports};
pub use conn::Conn;
pub use engine::Transport;
pub use error::{AckError, BroadcastAckError, ConnectError, EmitError};
pub use handshake::{Encrypted, Handshake, RemoteAddr};
pub use io::{ConnectionInfo, DynNamespace, SocketIo, SocketIoBuilder};
pub use namespace::Namespace;
pub use recovery::RecoveryConfig;
pub use serve::{HttpApp, Serve, serve};
pub use server_side::{ServerSideAck, ServerSideError, ServerSideEvent};
pub use service::{EngineService, ResponseFuture, SioBody, SocketIoLayer, SocketIoService};
pub use sid::Sid;
pub use sio_protocol::json::{Binary, Value};
pub use socket::{AckSender, DisconnectReason, Event, Socket, TimeoutSocket};
pub use tower_http::cors::CorsLayer;
