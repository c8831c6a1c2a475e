//! A Socket.IO v5 server (Engine.IO v4) on tokio, wire-compatible with Node's `socket.io`
//! 4.x and its official clients.
//!
//! It mounts as a tower layer on axum (or any tower/hyper stack); everything outside its
//! path (`/socket.io/` by default) goes through to the app.
//!
//! ```no_run
//! use axum::Router;
//! use sio_server::SocketIo;
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
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
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await
//! }
//! ```
//!
//! The layers inside, bottom up: [`engine`] (sessions, transports, heartbeat; no
//! Socket.IO), the client (packets of one session to its sockets), [`Namespace`]s and their
//! [`Socket`]s, and the [`adapter`] behind every room and broadcast operation.
//! Packets are encoded by `sio-protocol`, once per broadcast.

mod ack;
pub mod adapter;
mod args;
mod broadcast;
mod client;
pub mod config;
pub mod engine;
mod error;
mod handshake;
mod io;
mod namespace;
mod packet;
mod run;
mod service;
mod sid;
mod socket;

pub use ack::AckFuture;
pub use adapter::{Adapter, BroadcastOptions, BroadcastPacket, LocalSockets, MemoryAdapter, Room};
pub use args::{ArgError, Args, EmitArgs, FromArgs, RawArgs, ValueArgs};
pub use broadcast::{AckResponse, BroadcastOperator, IntoRooms};
pub use config::{Config, Transports};
pub use engine::Transport;
pub use error::{AckError, ConnectError, EmitError};
pub use handshake::Handshake;
pub use io::{ConnectionInfo, DynNamespace, SocketIo, SocketIoBuilder};
pub use namespace::Namespace;
pub use service::{EngineService, ResponseFuture, SioBody, SocketIoLayer, SocketIoService};
pub use sid::Sid;
pub use sio_protocol::json::{Binary, Value};
pub use socket::{AckSender, DisconnectReason, Event, Socket, TimeoutSocket};
pub use tower_http::cors::CorsLayer;
