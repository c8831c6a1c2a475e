use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use sio_protocol::DecodeError;
use sio_protocol::engine::{self, Frame};
use sio_protocol::payload::{self, Record, SEPARATOR};

use crate::engine::to_frame;

/// HTTP long-polling bodies: `payload::decode`, and the base64 of its binary records checked
/// against the `base64` crate.
pub fn payload(data: &[u8]) {
    // The server refuses bodies that are not UTF-8 before decoding.
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let records: Vec<_> = payload::decode(body).collect();
    let pieces: Vec<&str> = body.split(char::from(SEPARATOR)).collect();
    assert_eq!(
        records.len(),
        pieces.len(),
        "one record per separated piece"
    );
    for (piece, record) in pieces.iter().zip(&records) {
        check_record(piece, record);
    }
    // What a server reads: the records before the first error. Written again, they read the
    // same.
    let valid: Vec<Record<'_>> = records.iter().map_while(|r| r.clone().ok()).collect();
    if valid.is_empty() {
        return;
    }
    let frames: Vec<Frame> = valid.iter().map(record_frame).collect();
    let mut out = BytesMut::new();
    payload::encode(&frames, &mut out);
    let expected_len: usize = frames.iter().map(payload::record_len).sum();
    assert_eq!(out.len(), expected_len + frames.len() - 1);
    let out = std::str::from_utf8(&out).unwrap_or_else(|e| panic!("{e}"));
    let again: Result<Vec<_>, _> = payload::decode(out).collect();
    assert_eq!(again.as_ref(), Ok(&valid), "{body:?} re-encoded as {out:?}");
}

fn check_record(piece: &str, record: &Result<Record<'_>, DecodeError>) {
    match (piece.strip_prefix('b'), record) {
        (Some(b64), Ok(Record::Binary(bytes))) => {
            assert_eq!(STANDARD.decode(b64).ok().as_ref(), Some(bytes), "{piece:?}");
        }
        (Some(b64), Err(DecodeError::BadBase64)) => {
            assert!(STANDARD.decode(b64).is_err(), "{piece:?} is valid base64");
        }
        (None, Ok(Record::Packet(p))) => assert_eq!(engine::decode_text(piece), Ok(*p)),
        (None, Err(e)) => assert_eq!(engine::decode_text(piece), Err(e.clone())),
        _ => panic!("{piece:?} decoded as {record:?}"),
    }
}

fn record_frame(r: &Record<'_>) -> Frame {
    match r {
        Record::Packet(p) => to_frame(p),
        Record::Binary(b) => Frame::Binary(Bytes::copy_from_slice(b)),
    }
}
