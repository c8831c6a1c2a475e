use thiserror::Error;

/// Why a packet or payload could not be decoded. Every malformed input maps to one of these;
/// decoding never panics.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The packet was empty.
    #[error("empty packet")]
    Empty,
    /// The packet type is not one the protocol defines.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// The attachment count of a binary packet is missing or malformed.
    #[error("illegal attachment count")]
    IllegalAttachments,
    /// The ack id is not a number that fits in 53 bits.
    #[error("illegal ack id")]
    IllegalId,
    /// The namespace is not of the form `/name`.
    #[error("illegal namespace")]
    IllegalNamespace,
    /// The body does not have the shape the packet type requires.
    #[error("invalid payload for this packet type")]
    InvalidPayload,
    /// A JSON string (such as an event name) is malformed.
    #[error("malformed JSON string")]
    BadString,
    /// A base64 record of a polling payload is malformed.
    #[error("invalid base64 in polling payload")]
    BadBase64,
    /// Text arrived where the bytes of a binary attachment were expected, or the reverse.
    #[error("unexpected {0} while reassembling a binary packet")]
    UnexpectedFrame(&'static str),
    /// More binary attachments were announced than the configured limit allows.
    #[error("too many attachments: {0}")]
    TooManyAttachments(usize),
}
