//! Session and socket ids.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// A 20-character random id, as Node's `base64id` makes: used for Engine.IO sessions and for
/// Socket.IO sockets (each socket is also in the room named by its id).
///
/// It is `Copy` and hashes cheaply, so maps keyed by it allocate nothing per lookup.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sid([u8; 20]);

impl Sid {
    /// A new id from 15 random bytes of the thread's CSPRNG.
    pub fn new() -> Self {
        let mut raw = [0u8; 15];
        rand::rng().fill_bytes(&mut raw);
        let mut out = [0u8; 20];
        // 15 bytes are exactly 20 base64 characters, so this always fits.
        let _ = URL_SAFE_NO_PAD.encode_slice(raw, &mut out);
        Sid(out)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Built from base64 characters only (or checked in `parse`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Parses an id received from a peer; `None` unless it has the shape of one of ours.
    pub fn parse(s: &str) -> Option<Self> {
        let bytes: [u8; 20] = s.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .then_some(Sid(bytes))
    }
}

impl Default for Sid {
    fn default() -> Self {
        Self::new()
    }
}

impl std::hash::Hash for Sid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.mix());
    }
}

impl Sid {
    /// A well-spread 64-bit hash of the id. The text is base64, so each byte carries only 6
    /// random bits and its top bit is always 0: used as they are, the bytes would cluster
    /// hashbrown's bucket index (low bits) and tag (top 7 bits). A folded multiply of all
    /// 20 bytes spreads every input bit over the whole word.
    fn mix(&self) -> u64 {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&self.0[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let mut tail = [0u8; 4];
        tail.copy_from_slice(&self.0[16..20]);
        let fold = |a: u64, b: u64| {
            let p = u128::from(a) * u128::from(b);
            (p as u64) ^ ((p >> 64) as u64)
        };
        const K0: u64 = 0x9E37_79B9_7F4A_7C15;
        const K1: u64 = 0xD6E8_FEB8_6659_FD93;
        let a = word(0) ^ K0;
        let b = word(8) ^ (u64::from(u32::from_le_bytes(tail)) << 32) ^ K1;
        fold(fold(a, b), K0)
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hasher for maps keyed by [`Sid`]: its `Hash` already writes a well-mixed word.
#[derive(Default, Clone, Copy)]
pub struct SidHasher(u64);

impl Hasher for SidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// `HashMap<Sid, V>` with the cheap [`SidHasher`].
pub type SidMap<V> = std::collections::HashMap<Sid, V, BuildHasherDefault<SidHasher>>;
/// `HashSet<Sid>` with the cheap [`SidHasher`].
pub type SidSet = std::collections::HashSet<Sid, BuildHasherDefault<SidHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_parse_back() {
        let a = Sid::new();
        let b = Sid::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 20);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(Sid::parse("!!!!!!!!!!!!!!!!!!!!"), None);
    }

    /// What hashbrown sees of 100k ids in a table of 2^17 buckets: the start bucket (low
    /// 17 bits of the hash) and the 7-bit tag (top bits). With random hashes about 70 % of
    /// the ids get a bucket of their own and every tag is used evenly; the old hash (the
    /// first 8 characters as they are) gave about 6 % and a handful of tags.
    #[test]
    fn hashes_spread_over_buckets_and_tags() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<SidHasher>::default();
        let ids: Vec<Sid> = (0..100_000).map(|_| Sid::new()).collect();
        let hashes: Vec<u64> = ids.iter().map(|id| build.hash_one(id)).collect();
        let buckets: std::collections::HashSet<u64> =
            hashes.iter().map(|h| h & ((1 << 17) - 1)).collect();
        assert!(
            buckets.len() > 60_000,
            "only {} distinct start buckets for 100k ids",
            buckets.len()
        );
        let mut tags = [0usize; 128];
        for h in &hashes {
            tags[(h >> 57) as usize] += 1;
        }
        // Each tag expects 781 ids; a fair hash stays far inside these bounds.
        let (min, max) = (tags.iter().min(), tags.iter().max());
        assert!(
            min.is_some_and(|&m| m > 500) && max.is_some_and(|&m| m < 1100),
            "tags unevenly used: min {min:?}, max {max:?}"
        );
        // Parsing gives back the same hash (ids from peers find their sessions).
        assert_eq!(
            build.hash_one(ids[0]),
            build.hash_one(Sid::parse(ids[0].as_str()).unwrap())
        );
    }
}
