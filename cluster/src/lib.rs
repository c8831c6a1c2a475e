//! Cluster adapters for [`sio_server`]: several nodes serve one set of namespaces, and a
//! broadcast, a room operation or a request made on one reaches the sockets of all.
//!
//! [`redis`] joins sio nodes and Node `socket.io` nodes on one Redis, in the formats of
//! `@socket.io/redis-adapter` (classic and sharded pub/sub) and
//! `@socket.io/redis-streams-adapter` (a stream, with connection state recovery across the
//! nodes).
//!
//! # Structure
//!
//! One core, several transports, as Node's `ClusterAdapter`:
//!
//! - [`ClusterAdapter`] (`adapter/`) is a namespace's [`Adapter`](sio_server::adapter::Adapter)
//!   in a cluster. It keeps this node's rooms, decides what the other nodes must hear,
//!   waits for their answers (bounded in number and time) and acts on what they send.
//! - A [`Transport`] writes the core's messages ([`Ask`], [`Answer`], broadcasts) in its
//!   format and moves them; what comes back it decodes into an [`Incoming`] for the core's
//!   [`Receiver`]. The Redis backend has three: classic pub/sub, sharded pub/sub and
//!   streams ([`redis`]).
//! - [`wire`] and [`msgpack`] are the messages of Node's adapters and their bytes, shared
//!   by every format.
//!
//! ```no_run
//! use sio_cluster::redis::{RedisCluster, RedisConfig};
//! use sio_server::SocketIo;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = RedisCluster::new(RedisConfig::new("redis://127.0.0.1:6379/"))?;
//! let (layer, io) = SocketIo::builder()
//!     .adapter(move |nsp| cluster.adapter(nsp))
//!     .build_layer();
//! // Every node's sockets in the lobby get it.
//! io.to("lobby").emit("news", &"hello")?;
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```

mod adapter;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
/// The msgpack codec of the Redis messages (notepack.io's), from `sio-protocol`.
pub use sio_protocol::msgpack;
pub mod redis;
pub mod wire;

pub use adapter::{Answer, Ask, ClusterAdapter, Incoming, Malformed, Receiver, Transport};
