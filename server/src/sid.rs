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
        // The bytes are random: any 8 of them make a well-spread hash.
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(word));
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

/// A hasher for maps keyed by [`Sid`]: its `Hash` already writes a random word.
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
}
