//! The bodies of the fuzz targets, one function per decoder. Each takes the fuzzer's bytes,
//! runs the decoder as sio runs it on peer input, and panics when an invariant breaks: a
//! decode → encode → decode round trip that changes the value, a disagreement with a
//! reference implementation (`serde_json`, the `base64` crate), a length out of bounds.
//!
//! `fuzz_targets/*.rs` hand these to libFuzzer (nightly, `cargo fuzz`); `tests/replay.rs`
//! runs them on stable over the seeds and pseudo-random variations of them, so both paths
//! check the same things.

mod binary;
mod engine;
mod equiv;
mod json;
mod jsonstr;
mod msgpack_packet;
mod payload;
mod redis;
mod socket;

pub use binary::binary;
pub use engine::engine;
pub use json::json_args;
pub use jsonstr::jsonstr;
pub use msgpack_packet::msgpack_packet;
pub use payload::payload;
pub use redis::{redis_msgpack, redis_sharded, redis_wire};
pub use socket::socket;

/// A fuzz target: its name (that of its `fuzz_targets/` binary and `seeds/` folder) and body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, in the order `scripts/fuzz.sh` runs them.
pub const TARGETS: &[Target] = &[
    ("engine", engine),
    ("payload", payload),
    ("socket", socket),
    ("binary", binary),
    ("json_args", json_args),
    ("jsonstr", jsonstr),
    ("redis_msgpack", redis_msgpack),
    ("redis_wire", redis_wire),
    ("redis_sharded", redis_sharded),
    ("msgpack_packet", msgpack_packet),
];
