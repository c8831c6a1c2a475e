//! Event and ack arguments, both ways.
//!
//! Incoming arguments stay raw JSON until a handler asks for a type ([`Args::get`],
//! [`Args::all`]); outgoing ones are anything implementing [`EmitArgs`]: a tuple spreads
//! into several arguments, a reference is one argument, `()` is none.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sio_protocol::json::{self, ArgSpans};

/// Why an argument could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    /// There is no argument at this position.
    #[error("no argument at position {0}")]
    Missing(usize),
    /// The argument does not deserialize into the requested type.
    #[error("argument {index}: {source}")]
    Json {
        /// The argument's position.
        index: usize,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The value could not be serialized.
    #[error("cannot serialize argument: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The arguments of a received event or ack: raw JSON per argument plus the binary
/// attachments their placeholders refer to.
#[derive(Debug, Clone, Default)]
pub struct Args {
    body: Bytes,
    spans: ArgSpans,
    attachments: Vec<Bytes>,
}

impl Args {
    pub(crate) fn new(body: Bytes, spans: ArgSpans, attachments: Vec<Bytes>) -> Self {
        Self {
            body,
            spans,
            attachments,
        }
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The raw JSON of argument `i` (binary arguments appear as placeholders).
    pub fn raw(&self, i: usize) -> Option<&str> {
        let span = self.spans.get(i)?;
        let bytes = self.body.get(span.start as usize..span.end as usize)?;
        std::str::from_utf8(bytes).ok()
    }

    /// Argument `i` as `T`. Binary data anywhere inside arrives as
    /// [`Binary`](crate::Binary) fields.
    pub fn get<T: DeserializeOwned>(&self, i: usize) -> Result<T, ArgError> {
        let raw = self.raw(i).ok_or(ArgError::Missing(i))?;
        json::decode_arg(raw, &self.attachments)
            .map_err(|source| ArgError::Json { index: i, source })
    }

    /// All arguments as a tuple (`(String, u32)`), or any [`FromArgs`] type.
    pub fn all<T: FromArgs>(&self) -> Result<T, ArgError> {
        T::from_args(self)
    }

    /// Every argument as a dynamic [`Value`](crate::Value), binary included.
    pub fn values(&self) -> Result<Vec<json::Value>, ArgError> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// The binary attachments, in placeholder order.
    pub fn binary(&self) -> &[Bytes] {
        &self.attachments
    }

    /// These arguments, ready to be sent again unchanged (binary included).
    pub fn to_raw(&self) -> RawArgs {
        RawArgs(self.clone())
    }

    /// The arguments in `range` (clamped to those present), sharing the same buffers.
    ///
    /// ```
    /// # let args = sio_server::Args::from_json(r#"["a", 1, {"b": 2}]"#).unwrap();
    /// let rest = args.slice(1..);
    /// assert_eq!((rest.len(), rest.raw(0)), (2, Some("1")));
    /// ```
    pub fn slice(&self, range: impl std::ops::RangeBounds<usize>) -> Args {
        use std::ops::Bound;
        let len = self.spans.len();
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        }
        .min(len);
        let end = match range.end_bound() {
            Bound::Included(&e) => e + 1,
            Bound::Excluded(&e) => e,
            Bound::Unbounded => len,
        }
        .clamp(start, len);
        Args {
            body: self.body.clone(),
            spans: self.spans[start..end].iter().cloned().collect(),
            attachments: self.attachments.clone(),
        }
    }

    /// Arguments from dynamic values, binary included (acks relayed by another node).
    pub fn from_values(values: &[json::Value]) -> Result<Args, ArgError> {
        let mut body = BytesMut::new();
        let mut attachments = Vec::new();
        body.put_u8(b'[');
        values.write_args(&mut body, &mut attachments)?;
        body.put_u8(b']');
        let body = body.freeze();
        let spans = json::split_args(std::str::from_utf8(&body).unwrap_or_default())?;
        Ok(Args::new(body, spans, attachments))
    }

    /// Arguments from a JSON array, without attachments (for tests and tools).
    pub fn from_json(array: &str) -> Result<Args, ArgError> {
        let spans = json::split_args(array)?;
        Ok(Args::new(
            Bytes::copy_from_slice(array.as_bytes()),
            spans,
            Vec::new(),
        ))
    }
}

/// Types built from a whole argument list: tuples of deserializable types, and `Vec<T>`.
pub trait FromArgs: Sized {
    /// Reads the arguments.
    fn from_args(args: &Args) -> Result<Self, ArgError>;
}

impl<T: DeserializeOwned> FromArgs for Vec<T> {
    fn from_args(args: &Args) -> Result<Self, ArgError> {
        (0..args.len()).map(|i| args.get(i)).collect()
    }
}

macro_rules! tuple_args {
    ($($idx:tt $t:ident),+) => {
        impl<$($t: DeserializeOwned),+> FromArgs for ($($t,)+) {
            fn from_args(args: &Args) -> Result<Self, ArgError> {
                Ok(($(args.get::<$t>($idx)?,)+))
            }
        }
        impl<$($t: Serialize),+> EmitArgs for ($($t,)+) {
            fn write_args(&self, out: &mut BytesMut, attachments: &mut Vec<Bytes>) -> Result<usize, ArgError> {
                let mut n = 0;
                $(
                    if n > 0 { out.put_u8(b','); }
                    json::encode_value(out, &self.$idx, attachments)?;
                    n += 1;
                )+
                Ok(n)
            }
        }
    };
}

tuple_args!(0 A);
tuple_args!(0 A, 1 B);
tuple_args!(0 A, 1 B, 2 C);
tuple_args!(0 A, 1 B, 2 C, 3 D);
tuple_args!(0 A, 1 B, 2 C, 3 D, 4 E);
tuple_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
tuple_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
tuple_args!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

/// Values that can be sent as the arguments of an event or ack.
///
/// - `()`: no argument;
/// - `&value` (any `Serialize`): one argument;
/// - a tuple `(a, b, …)` of up to 8 `Serialize` values: one argument each;
/// - [`RawArgs`]: arguments received earlier, sent on unchanged;
/// - [`ValueArgs`]: a list decided at run time.
///
/// [`Binary`](crate::Binary) values anywhere inside become binary attachments.
pub trait EmitArgs {
    /// Writes the arguments as comma-separated JSON, adding binary attachments to
    /// `attachments`; returns how many arguments were written.
    fn write_args(
        &self,
        out: &mut BytesMut,
        attachments: &mut Vec<Bytes>,
    ) -> Result<usize, ArgError>;

    /// About how many bytes [`write_args`](Self::write_args) writes, when it is known
    /// without writing (0 by default): the packet's buffer is allocated once, that large.
    fn size_hint(&self) -> usize {
        0
    }
}

impl EmitArgs for () {
    fn write_args(&self, _: &mut BytesMut, _: &mut Vec<Bytes>) -> Result<usize, ArgError> {
        Ok(0)
    }
}

impl<T: Serialize + ?Sized> EmitArgs for &T {
    fn write_args(
        &self,
        out: &mut BytesMut,
        attachments: &mut Vec<Bytes>,
    ) -> Result<usize, ArgError> {
        json::encode_value(out, *self, attachments)?;
        Ok(1)
    }
}

/// Arguments received earlier, sent on byte for byte (binary attachments included).
#[derive(Debug, Clone)]
pub struct RawArgs(Args);

impl EmitArgs for RawArgs {
    fn write_args(
        &self,
        out: &mut BytesMut,
        attachments: &mut Vec<Bytes>,
    ) -> Result<usize, ArgError> {
        let args = &self.0;
        // Placeholders keep their numbers, so the attachments must start the list.
        let offset = attachments.len();
        if offset > 0 && !args.attachments.is_empty() {
            return Err(ArgError::Encode(serde::ser::Error::custom(
                "raw arguments with binary must come first",
            )));
        }
        for i in 0..args.len() {
            if i > 0 {
                out.put_u8(b',');
            }
            out.put_slice(args.raw(i).unwrap_or("null").as_bytes());
        }
        attachments.extend(args.attachments.iter().cloned());
        Ok(args.len())
    }

    fn size_hint(&self) -> usize {
        self.0
            .spans
            .iter()
            .map(|s| (s.end - s.start) as usize + 1)
            .sum()
    }
}

/// A list of arguments decided at run time.
#[derive(Debug, Clone, Default)]
pub struct ValueArgs(pub Vec<serde_json::Value>);

impl EmitArgs for ValueArgs {
    fn write_args(
        &self,
        out: &mut BytesMut,
        attachments: &mut Vec<Bytes>,
    ) -> Result<usize, ArgError> {
        self.0.as_slice().write_args(out, attachments)
    }
}

/// Values, one argument each.
impl<V: Serialize> EmitArgs for [V] {
    fn write_args(
        &self,
        out: &mut BytesMut,
        attachments: &mut Vec<Bytes>,
    ) -> Result<usize, ArgError> {
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            json::encode_value(out, v, attachments)?;
        }
        Ok(self.len())
    }
}
