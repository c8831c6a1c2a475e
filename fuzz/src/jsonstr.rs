use bytes::BytesMut;
use sio_protocol::jsonstr;

/// JSON strings read and written by hand (`jsonstr::parse_prefix`, `jsonstr::write`),
/// checked against serde_json.
pub fn jsonstr(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if s.starts_with('"') {
        let ours = jsonstr::parse_prefix(s)
            .ok()
            .map(|(v, rest)| (v.into_owned(), s.len() - rest.len()));
        let mut stream = serde_json::Deserializer::from_str(s).into_iter::<String>();
        let theirs = match stream.next() {
            Some(Ok(v)) => Some((v, stream.byte_offset())),
            _ => None,
        };
        assert_eq!(ours, theirs, "{s:?}");
    }
    // Any string written reads back, and is written as JSON.stringify (and serde_json) do.
    let mut out = BytesMut::new();
    jsonstr::write(&mut out, s);
    let written = std::str::from_utf8(&out).unwrap_or_else(|e| panic!("{e}"));
    let reference = serde_json::to_string(s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written, reference);
    let back = jsonstr::parse_prefix(written).map(|(v, rest)| (v.into_owned(), rest));
    assert_eq!(back, Ok((s.to_owned(), "")), "{written:?}");
}
