//! Socket.IO packets encoded for the wire, once, shared by every receiver.

use bytes::{BufMut, Bytes, BytesMut};
use sio_protocol::engine::{self, Frame};
use sio_protocol::socket::{self, PacketType};

use std::sync::OnceLock;

use sio_protocol::msgpack::packet as msgpack;

use crate::args::{ArgError, EmitArgs};
use crate::config::Parser;

/// An encoded packet: the text frame and its binary attachments (the default parser's
/// form, which adapters and recovery keep), and its msgpack form once a receiver needed it.
/// Cloning it for another receiver copies no bytes.
#[derive(Debug, Clone)]
pub(crate) struct Packet {
    pub text: Frame,
    pub attachments: Vec<Bytes>,
    /// The msgpack form, made once for all the receivers of a broadcast.
    msgpack: OnceLock<Option<Bytes>>,
}

impl Packet {
    pub fn new(text: Frame, attachments: Vec<Bytes>) -> Self {
        Self {
            text,
            attachments,
            msgpack: OnceLock::new(),
        }
    }

    /// The frames to queue, in order.
    pub fn frames(&self) -> impl Iterator<Item = Frame> + '_ {
        std::iter::once(self.text.clone())
            .chain(self.attachments.iter().cloned().map(Frame::Binary))
    }

    /// The packet as one msgpack binary message (`socket.io-msgpack-parser`); None if it
    /// does not translate (which a packet this server encoded always does).
    pub fn msgpack(&self) -> Option<&Bytes> {
        self.msgpack
            .get_or_init(|| {
                let text = self.text.as_text()?.get(1..)?;
                msgpack::from_text(text, &self.attachments)
                    .map(Bytes::from)
                    .map_err(|e| tracing::warn!("packet not translated to msgpack: {e}"))
                    .ok()
            })
            .as_ref()
    }

    /// The msgpack form as the binary message to send (empty if it did not translate).
    pub fn msgpack_frame(&self) -> Frame {
        Frame::Binary(self.msgpack().cloned().unwrap_or_default())
    }
}

/// A control packet (connect, connect error, disconnect) as `parser` writes it.
pub(crate) fn for_parser(parser: Parser, frame: Frame) -> Frame {
    match parser {
        Parser::Default => frame,
        Parser::MsgPack => Packet::new(frame, Vec::new()).msgpack_frame(),
    }
}

/// Encodes an event (`name` set) or an ack (`name` None).
pub(crate) fn encode(
    nsp: &str,
    name: Option<&str>,
    id: Option<u64>,
    args: &(impl EmitArgs + ?Sized),
) -> Result<Packet, ArgError> {
    let kind = if name.is_some() {
        PacketType::Event
    } else {
        PacketType::Ack
    };
    // Room for the header and the name, and the arguments when their size is known: one
    // allocation, no growing.
    let hint = nsp.len() + name.map_or(0, str::len) + args.size_hint();
    let mut out = BytesMut::with_capacity(32 + hint);
    engine::begin_message(&mut out);
    socket::write_header(&mut out, kind, nsp, id, 0);
    let body_start = out.len();
    let mut attachments = Vec::new();
    match name {
        Some(name) => {
            socket::write_event_start(&mut out, name);
            let mark = out.len();
            out.put_u8(b',');
            if args.write_args(&mut out, &mut attachments)? == 0 {
                out.truncate(mark);
            }
        }
        None => {
            out.put_u8(b'[');
            args.write_args(&mut out, &mut attachments)?;
        }
    }
    out.put_u8(b']');
    if attachments.is_empty() {
        return Ok(Packet::new(Frame::Text(out.freeze()), attachments));
    }
    // Binary arguments were found while writing: the header must announce them.
    let kind = if name.is_some() {
        PacketType::BinaryEvent
    } else {
        PacketType::BinaryAck
    };
    let mut bin = BytesMut::with_capacity(out.len() + 8);
    engine::begin_message(&mut bin);
    socket::write_header(&mut bin, kind, nsp, id, attachments.len());
    bin.put_slice(&out[body_start..]);
    Ok(Packet::new(Frame::Text(bin.freeze()), attachments))
}

/// An event with `offset` as its last argument: what connection state recovery sends
/// (clients remember the last offset they got; see [`recovery`](crate::recovery)).
pub(crate) fn encode_with_offset(
    nsp: &str,
    name: &str,
    args: &(impl EmitArgs + ?Sized),
    offset: &str,
) -> Result<Packet, ArgError> {
    encode(nsp, Some(name), None, &WithOffset { args, offset })
}

struct WithOffset<'a, A: ?Sized> {
    args: &'a A,
    offset: &'a str,
}

impl<A: EmitArgs + ?Sized> EmitArgs for WithOffset<'_, A> {
    fn write_args(
        &self,
        out: &mut BytesMut,
        attachments: &mut Vec<Bytes>,
    ) -> Result<usize, ArgError> {
        let n = self.args.write_args(out, attachments)?;
        if n > 0 {
            out.put_u8(b',');
        }
        sio_protocol::jsonstr::write(out, self.offset);
        Ok(n + 1)
    }

    fn size_hint(&self) -> usize {
        self.args.size_hint() + self.offset.len() + 3
    }
}

/// `40/nsp,{"sid":"…"}` (with `"pid"` when recovery is on): the namespace accepted the
/// socket.
pub(crate) fn connect_ok(nsp: &str, sid: &str, pid: Option<&str>) -> Frame {
    let mut out = BytesMut::with_capacity(64 + nsp.len());
    engine::begin_message(&mut out);
    socket::write_header(&mut out, PacketType::Connect, nsp, None, 0);
    socket::write_connect_ok(&mut out, sid, pid);
    Frame::Text(out.freeze())
}

/// `44/nsp,{"message":…,"data":…}`: the connection to the namespace is refused.
pub(crate) fn connect_error(nsp: &str, message: &str, data: Option<&str>) -> Frame {
    let mut out = BytesMut::with_capacity(40 + nsp.len() + message.len());
    engine::begin_message(&mut out);
    socket::write_header(&mut out, PacketType::ConnectError, nsp, None, 0);
    socket::write_connect_error(&mut out, message, data);
    Frame::Text(out.freeze())
}

/// `41/nsp,`: the server disconnects the socket from the namespace.
pub(crate) fn disconnect(nsp: &str) -> Frame {
    let mut out = BytesMut::with_capacity(4 + nsp.len());
    engine::begin_message(&mut out);
    socket::write_header(&mut out, PacketType::Disconnect, nsp, None, 0);
    Frame::Text(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Args, Binary};

    fn text(p: &Packet) -> &str {
        p.text.as_text().unwrap_or_default()
    }

    #[test]
    fn events_and_acks() -> Result<(), ArgError> {
        assert_eq!(text(&encode("/", Some("a"), None, &())?), "42[\"a\"]");
        assert_eq!(
            text(&encode("/x", Some("a"), Some(3), &(1, "b"))?),
            "42/x,3[\"a\",1,\"b\"]"
        );
        assert_eq!(text(&encode("/", None, Some(7), &())?), "437[]");
        assert_eq!(text(&encode("/", None, Some(7), &&true)?), "437[true]");
        let p = encode("/", Some("f"), None, &(Binary::from(vec![1u8]), 2))?;
        assert_eq!(text(&p), "451-[\"f\",{\"_placeholder\":true,\"num\":0},2]");
        assert_eq!(p.attachments.len(), 1);
        let p = encode(
            "/n",
            None,
            Some(1),
            &(Binary::from(vec![1u8]), Binary::from(vec![2u8])),
        )?;
        assert_eq!(
            text(&p),
            "462-/n,1[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"
        );
        Ok(())
    }

    #[test]
    fn offsets_go_last() -> Result<(), ArgError> {
        let text = |p: Packet| p.text.as_text().unwrap_or_default().to_owned();
        assert_eq!(
            text(encode_with_offset("/", "a", &(), "7")?),
            "42[\"a\",\"7\"]"
        );
        assert_eq!(
            text(encode_with_offset("/x", "a", &(1, "b"), "8")?),
            "42/x,[\"a\",1,\"b\",\"8\"]"
        );
        let p = encode_with_offset("/", "f", &(Binary::from(vec![1u8]),), "9")?;
        assert_eq!(
            text(p),
            "451-[\"f\",{\"_placeholder\":true,\"num\":0},\"9\"]"
        );
        Ok(())
    }

    #[test]
    fn control_packets() {
        assert_eq!(
            connect_ok("/", "abc", None).as_text(),
            Some("40{\"sid\":\"abc\"}")
        );
        assert_eq!(
            connect_ok("/a", "abc", Some("p")).as_text(),
            Some("40/a,{\"sid\":\"abc\",\"pid\":\"p\"}")
        );
        assert_eq!(disconnect("/chat").as_text(), Some("41/chat,"));
        assert_eq!(
            connect_error("/x", "Invalid namespace", None).as_text(),
            Some("44/x,{\"message\":\"Invalid namespace\"}")
        );
    }

    #[test]
    fn dynamic_values_keep_binary() -> Result<(), ArgError> {
        let body = Bytes::from_static(
            br#"[{"_placeholder":true,"num":0},{"n":[{"_placeholder":true,"num":1}]}]"#,
        );
        let spans = sio_protocol::json::split_args(std::str::from_utf8(&body).unwrap_or_default())?;
        let args = Args::new(
            body,
            spans,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")],
        );
        let values = args.values()?;
        assert_eq!(values[0], crate::Value::Binary(Bytes::from_static(b"a")));
        #[derive(serde::Serialize)]
        struct Reply {
            answer: Vec<crate::Value>,
        }
        let p = encode("/", None, Some(1), &&Reply { answer: values })?;
        assert_eq!(p.attachments.len(), 2, "{:?}", p.text);
        Ok(())
    }
}
