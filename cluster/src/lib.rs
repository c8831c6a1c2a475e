//! Cluster adapters for [`sio_server`]: several nodes serve one set of namespaces, and a
//! broadcast, a room operation or a request made on one reaches the sockets of all.
//!
//! [`redis`] joins sio nodes and Node `socket.io` nodes on one Redis, in the formats of
//! `@socket.io/redis-adapter` (classic and sharded pub/sub) and
//! `@socket.io/redis-streams-adapter` (a stream, with connection state recovery across the
//! nodes).

pub mod redis;
