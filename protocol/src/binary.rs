//! Binary attachments.
//!
//! A packet with binary arguments is sent as a `BINARY_EVENT`/`BINARY_ACK` whose JSON body
//! holds placeholders `{"_placeholder":true,"num":N}`, followed by N binary Engine.IO
//! messages in order. [`Reassembler`] is the receiving side's state machine; it enforces the
//! reference parser's rules: no text while attachments are expected, no binary otherwise.

use alloc::vec::Vec;

use bytes::{BufMut, Bytes, BytesMut};

use crate::DecodeError;

/// Reassembles binary packets from a text header and the binary messages that follow.
///
/// `P` is whatever the caller keeps of the header until the attachments are in; `B` is the
/// attachment type (the server keeps [`Bytes`]; the browser client keeps `ArrayBuffer`s).
///
/// ```
/// use bytes::Bytes;
/// use sio_protocol::binary::Reassembler;
///
/// let mut r: Reassembler<_> = Reassembler::new(10);
/// assert_eq!(r.on_header("hdr", 2), Ok(None));
/// assert_eq!(r.on_binary(Bytes::from_static(b"a")), Ok(None));
/// let (hdr, parts) = r.on_binary(Bytes::from_static(b"b")).unwrap().unwrap();
/// assert_eq!((hdr, parts.len()), ("hdr", 2));
/// assert!(r.on_binary(Bytes::from_static(b"c")).is_err());
/// ```
#[derive(Debug)]
pub struct Reassembler<P, B = Bytes> {
    max_attachments: usize,
    pending: Option<Pending<P, B>>,
}

#[derive(Debug)]
struct Pending<P, B> {
    header: P,
    expected: usize,
    parts: Vec<B>,
}

/// A complete packet: the header and its attachments in order.
pub type Complete<P, B = Bytes> = (P, Vec<B>);

impl<P, B> Reassembler<P, B> {
    /// A reassembler that refuses packets announcing more than `max_attachments`.
    pub fn new(max_attachments: usize) -> Self {
        Self {
            max_attachments,
            pending: None,
        }
    }

    /// Whether attachments are still expected.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// A text packet arrived, announcing `attachments` binary messages (0 for non-binary
    /// packets). Returns the packet at once when it needs no attachments.
    pub fn on_header(
        &mut self,
        header: P,
        attachments: usize,
    ) -> Result<Option<Complete<P, B>>, DecodeError> {
        if self.pending.is_some() {
            self.pending = None;
            return Err(DecodeError::UnexpectedFrame("text"));
        }
        if attachments > self.max_attachments {
            return Err(DecodeError::TooManyAttachments(attachments));
        }
        if attachments == 0 {
            return Ok(Some((header, Vec::new())));
        }
        self.pending = Some(Pending {
            header,
            expected: attachments,
            parts: Vec::with_capacity(attachments),
        });
        Ok(None)
    }

    /// A binary message arrived. Returns the packet once its last attachment is in.
    pub fn on_binary(&mut self, data: B) -> Result<Option<Complete<P, B>>, DecodeError> {
        let pending = self
            .pending
            .as_mut()
            .ok_or(DecodeError::UnexpectedFrame("binary"))?;
        pending.parts.push(data);
        if pending.parts.len() < pending.expected {
            return Ok(None);
        }
        Ok(self.pending.take().map(|p| (p.header, p.parts)))
    }
}

/// Writes the placeholder that stands for attachment `num` in a JSON body.
pub fn write_placeholder(out: &mut BytesMut, num: usize) {
    out.put_slice(b"{\"_placeholder\":true,\"num\":");
    crate::socket::write_decimal(out, num as u64);
    out.put_u8(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_while_pending_is_an_error() {
        let mut r: Reassembler<_> = Reassembler::new(4);
        assert_eq!(r.on_header(1, 1), Ok(None));
        assert_eq!(r.on_header(2, 0), Err(DecodeError::UnexpectedFrame("text")));
        assert!(!r.is_pending());
        assert_eq!(r.on_header(3, 0), Ok(Some((3, vec![]))));
    }

    #[test]
    fn limits_attachments() {
        let mut r = Reassembler::<()>::new(1);
        assert_eq!(r.on_header((), 2), Err(DecodeError::TooManyAttachments(2)));
        assert!(r.on_binary(Bytes::new()).is_err());
    }

    #[test]
    fn placeholder() {
        let mut out = BytesMut::new();
        write_placeholder(&mut out, 12);
        assert_eq!(&out[..], br#"{"_placeholder":true,"num":12}"#);
    }
}
