//! The domain layer's errors: [`ParseError`] for names and ids a person or a
//! program writes, [`DecodeError`] for frames and bodies the exchange sends.
//!
//! Both are permanent for the input at hand: the same text fails the same way
//! again. Messages are lowercase, name the offending input and, where there is
//! one, say what to write instead.

/// Why a symbol, stream name, stream list or request id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A symbol is empty, too long or has a character Binance symbols never have.
    #[error("invalid symbol `{input}`: {reason}")]
    Symbol {
        /// The symbol as given.
        input: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A stream name does not follow Binance's grammar (PROTOCOL.md §4).
    #[error("invalid stream name `{input}`: {reason}")]
    StreamName {
        /// The name as given.
        input: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The stream type (the part after `@`) is not one Binance serves.
    #[error("unknown stream type `{stream_type}`{}: {hint}", in_name(.input, .stream_type))]
    UnknownStreamType {
        /// The stream name as given (or the stream type alone).
        input: String,
        /// The unknown stream type.
        stream_type: String,
        /// What to write instead.
        hint: String,
    },
    /// Binance retired the stream; it delivers nothing any more.
    #[error("stream `{input}` was retired by Binance on {date}: {advice}")]
    RetiredStream {
        /// The stream name as given.
        input: String,
        /// When Binance retired it.
        date: &'static str,
        /// What to use instead.
        advice: &'static str,
    },
    /// A request id is neither a 64-bit integer nor a short alphanumeric string.
    #[error("invalid request id `{input}`: {reason}")]
    RequestId {
        /// The id as given.
        input: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A comma-separated list (`--symbols`, `--streams`) is malformed.
    #[error("invalid {option} `{input}`: {reason}")]
    List {
        /// Which list (`--symbols`, `--streams`).
        option: &'static str,
        /// The list as given.
        input: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

impl ParseError {
    /// True when the input is well-formed but names a stream type this crate does
    /// not know (or one Binance retired): a frame for it is skipped, not an error.
    #[must_use]
    pub fn is_unknown_stream_type(&self) -> bool {
        matches!(
            self,
            ParseError::UnknownStreamType { .. } | ParseError::RetiredStream { .. }
        )
    }
}

/// ` in `<input>`` when the input is more than the stream type itself.
fn in_name(input: &str, stream_type: &str) -> String {
    if input == stream_type {
        String::new()
    } else {
        format!(" in `{input}`")
    }
}

/// Why a frame or a REST body could not be decoded.
///
/// Unknown event and stream types are not errors: the decoder returns
/// [`Frame::Unknown`](super::Frame::Unknown) for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text is not JSON, or not complete JSON (serde_json's message, with its position).
    #[error("frame is not valid JSON: {message}")]
    Json {
        /// What the JSON parser reported.
        message: String,
    },
    /// A binary frame or body that is not UTF-8 text.
    #[error("frame is not UTF-8 text: {message}")]
    NotUtf8 {
        /// Where the bytes stop being UTF-8.
        message: String,
    },
    /// A field has the wrong JSON type or a value out of its range.
    #[error("field `{field}` of {payload}: {problem}")]
    Field {
        /// The payload the field belongs to (`aggTrade`, `kline candle`, …).
        payload: &'static str,
        /// The field's key on the wire (`p`, `E`, …).
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// A required field is absent.
    #[error("{payload} is missing field `{field}`")]
    MissingField {
        /// The payload the field belongs to.
        payload: &'static str,
        /// The field's key on the wire.
        field: &'static str,
    },
    /// A field appears twice in one object.
    #[error("{payload} has field `{field}` twice")]
    DuplicateField {
        /// The payload the field belongs to.
        payload: &'static str,
        /// The field's key on the wire.
        field: &'static str,
    },
    /// The JSON is well-formed but is none of the frames the connection can carry.
    #[error("unexpected frame: {problem}")]
    Shape {
        /// What was expected and what was found.
        problem: String,
    },
}
