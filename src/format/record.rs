//! The record format (`src/vdbeaux.c`, file format §2.1): a varint header length H (counting
//! itself), one serial-type varint per column, then the column bodies in order from offset H.
//!
//! | serial type | body bytes | value |
//! |---|---|---|
//! | 0 | 0 | NULL |
//! | 1..=6 | 1, 2, 3, 4, 6, 8 | big-endian two's-complement integer |
//! | 7 | 8 | big-endian IEEE-754 double |
//! | 8, 9 | 0 | the integers 0 and 1 (schema format 4) |
//! | 10, 11 | – | reserved: corrupt in a file |
//! | N ≥ 12 even | (N−12)/2 | BLOB |
//! | N ≥ 13 odd | (N−13)/2 | TEXT in the database encoding |
//!
//! Decoding never trusts the header: every size is checked against the payload, and a record
//! whose header lies yields the columns decoded so far plus an error with its offset.

use std::fmt;

use super::varint::read_varint;

/// Text encoding of a database (header offset 56).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TextEncoding {
    #[default]
    Utf8,
    Utf16le,
    Utf16be,
}

impl TextEncoding {
    /// From the header field: 2 and 3 are UTF-16; anything else reads as UTF-8 (0 is a database
    /// whose encoding is not yet set; other values are corrupt and reported elsewhere).
    pub fn from_header(v: u32) -> Self {
        match v {
            2 => Self::Utf16le,
            3 => Self::Utf16be,
            _ => Self::Utf8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Utf16le => "utf-16le",
            Self::Utf16be => "utf-16be",
        }
    }

    /// Decode text bytes (invalid sequences become U+FFFD; a trailing odd byte of UTF-16 is
    /// dropped, as SQLite does).
    pub fn decode(self, b: &[u8]) -> String {
        match self {
            Self::Utf8 => String::from_utf8_lossy(b).into_owned(),
            Self::Utf16le => {
                let units: Vec<u16> = b
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]))
                    .collect();
                String::from_utf16_lossy(&units)
            }
            Self::Utf16be => {
                let units: Vec<u16> = b
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]))
                    .collect();
                String::from_utf16_lossy(&units)
            }
        }
    }

    /// True when `b` is valid text in this encoding (so [`TextEncoding::decode`] loses nothing:
    /// no invalid sequence, no unpaired surrogate, no odd trailing byte of UTF-16).
    pub fn is_exact(self, b: &[u8]) -> bool {
        let units = |le: bool| {
            b.chunks_exact(2).map(move |c| {
                let pair = [c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)];
                if le { u16::from_le_bytes(pair) } else { u16::from_be_bytes(pair) }
            })
        };
        match self {
            Self::Utf8 => std::str::from_utf8(b).is_ok(),
            Self::Utf16le => b.len().is_multiple_of(2) && char::decode_utf16(units(true)).all(|c| c.is_ok()),
            Self::Utf16be => b.len().is_multiple_of(2) && char::decode_utf16(units(false)).all(|c| c.is_ok()),
        }
    }

    /// The value of a TEXT body: [`Value::Text`], or [`Value::TextBytes`] when the bytes are
    /// not valid in this encoding (the readable text and the exact bytes).
    pub fn text_value(self, b: &[u8]) -> Value {
        let text = self.decode(b);
        if self.is_exact(b) { Value::Text(text) } else { Value::TextBytes { text, bytes: b.to_vec() } }
    }
}

/// One column value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// TEXT whose bytes are not valid in the database's encoding: `text` is the readable form
    /// (invalid sequences as U+FFFD), `bytes` the exact bytes stored.
    TextBytes {
        text: String,
        bytes: Vec<u8>,
    },
}

impl Value {
    /// A canonical byte encoding for use as a map key: equal values give equal keys.
    pub fn key_bytes(&self, out: &mut Vec<u8>) {
        match self {
            Self::Null => out.push(0),
            Self::Integer(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Self::Real(r) => {
                out.push(2);
                out.extend_from_slice(&r.to_bits().to_be_bytes());
            }
            Self::Text(s) => {
                out.push(3);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Self::Blob(b) => {
                out.push(4);
                out.extend_from_slice(&(b.len() as u64).to_be_bytes());
                out.extend_from_slice(b);
            }
            Self::TextBytes { bytes, .. } => {
                out.push(3);
                out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }

    /// The text of a TEXT value (readable form for [`Value::TextBytes`]), `None` otherwise.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(s) | Self::TextBytes { text: s, .. } => Some(s),
            _ => None,
        }
    }

    /// "null", "integer", "real", "text" or "blob".
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Integer(_) => "integer",
            Self::Real(_) => "real",
            Self::Text(_) | Self::TextBytes { .. } => "text",
            Self::Blob(_) => "blob",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => write!(f, "NULL"),
            Self::Integer(i) => write!(f, "{i}"),
            Self::Real(r) => write!(f, "{r:?}"),
            Self::Text(s) | Self::TextBytes { text: s, .. } => write!(f, "'{}'", s.replace('\'', "''")),
            Self::Blob(b) => {
                write!(f, "X'")?;
                for x in b {
                    write!(f, "{x:02x}")?;
                }
                write!(f, "'")
            }
        }
    }
}

/// Body length of a serial type, `None` for the reserved types 10 and 11.
#[inline]
pub fn serial_type_len(t: u64) -> Option<u64> {
    match t {
        0 | 8 | 9 => Some(0),
        1 => Some(1),
        2 => Some(2),
        3 => Some(3),
        4 => Some(4),
        5 => Some(6),
        6 | 7 => Some(8),
        10 | 11 => None,
        n => Some((n - 12) / 2),
    }
}

/// What is wrong with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordErrorKind {
    /// The header-length varint is missing or runs past the payload.
    BadHeaderLength,
    /// A serial-type varint runs past the header.
    TruncatedHeader,
    /// Serial type 10 or 11.
    ReservedSerialType,
    /// A column body runs past the end of the payload.
    BodyPastEnd,
    /// Bytes remain after the last column (harmless for SQLite; worth noting).
    TrailingBytes,
}

impl RecordErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::BadHeaderLength => "record.bad_header_length",
            Self::TruncatedHeader => "record.truncated_header",
            Self::ReservedSerialType => "record.reserved_serial_type",
            Self::BodyPastEnd => "record.body_past_end",
            Self::TrailingBytes => "record.trailing_bytes",
        }
    }
}

/// A record problem at a byte offset within the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub offset: u64,
    pub kind: RecordErrorKind,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            RecordErrorKind::BadHeaderLength => "record header length is missing or larger than the payload",
            RecordErrorKind::TruncatedHeader => "record header ends inside a serial type",
            RecordErrorKind::ReservedSerialType => "reserved serial type 10 or 11",
            RecordErrorKind::BodyPastEnd => "column body runs past the end of the payload",
            RecordErrorKind::TrailingBytes => "bytes left after the last column",
        };
        write!(f, "{what} (payload offset {})", self.offset)
    }
}

/// A decoded record: the columns that could be decoded and the first problem, if any.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Record {
    pub values: Vec<Value>,
    pub serial_types: Vec<u64>,
    pub header_len: u64,
    /// Set when the record is damaged: `values` then holds the columns before the damage.
    pub error: Option<RecordError>,
}

impl Record {
    pub fn is_intact(&self) -> bool {
        self.error.is_none() || matches!(self.error, Some(RecordError { kind: RecordErrorKind::TrailingBytes, .. }))
    }
}

fn int_be(b: &[u8]) -> i64 {
    let mut v: i64 = if b.first().is_some_and(|&x| x & 0x80 != 0) { -1 } else { 0 };
    for &x in b {
        v = (v << 8) | i64::from(x);
    }
    v
}

/// Decode one column body of serial type `t` (whose bytes the caller sliced).
pub fn decode_value(t: u64, body: &[u8], enc: TextEncoding) -> Value {
    match t {
        0 | 10 | 11 => Value::Null,
        1..=6 => Value::Integer(int_be(body)),
        7 => {
            let mut a = [0u8; 8];
            for (d, s) in a.iter_mut().zip(body) {
                *d = *s;
            }
            Value::Real(f64::from_bits(u64::from_be_bytes(a)))
        }
        8 => Value::Integer(0),
        9 => Value::Integer(1),
        n if n % 2 == 0 => Value::Blob(body.to_vec()),
        _ => enc.text_value(body),
    }
}

/// Decode a record. Never panics and allocates no more than the payload's size.
pub fn decode_record(payload: &[u8], enc: TextEncoding) -> Record {
    let mut r = Record::default();
    let len = payload.len() as u64;
    let Some((h, hl)) = read_varint(payload, 0) else {
        r.error = Some(RecordError { offset: 0, kind: RecordErrorKind::BadHeaderLength });
        return r;
    };
    r.header_len = h;
    if h > len || h < hl as u64 {
        r.error = Some(RecordError { offset: 0, kind: RecordErrorKind::BadHeaderLength });
        return r;
    }
    // h <= len, which is a usize.
    let h_us = h as usize;
    let mut p = hl;
    let mut body = h;
    while p < h_us {
        let Some((t, n)) = read_varint(payload.get(..h_us).unwrap_or(&[]), p) else {
            r.error = Some(RecordError { offset: p as u64, kind: RecordErrorKind::TruncatedHeader });
            return r;
        };
        let Some(size) = serial_type_len(t) else {
            r.error = Some(RecordError { offset: p as u64, kind: RecordErrorKind::ReservedSerialType });
            return r;
        };
        let end = body.saturating_add(size);
        if end > len {
            r.error = Some(RecordError { offset: body, kind: RecordErrorKind::BodyPastEnd });
            return r;
        }
        let bytes = payload.get(body as usize..end as usize).unwrap_or(&[]);
        r.values.push(decode_value(t, bytes, enc));
        r.serial_types.push(t);
        body = end;
        p += n;
    }
    if body < len {
        r.error = Some(RecordError { offset: body, kind: RecordErrorKind::TrailingBytes });
    }
    r
}

/// Encode a record (for tests and tools that build pages): integers use the smallest serial
/// type, as SQLite does (0 and 1 as types 8 and 9).
pub fn encode_record(values: &[Value], enc: TextEncoding) -> Vec<u8> {
    use super::varint::{varint_len, write_varint};
    let mut types = Vec::new();
    let mut body = Vec::new();
    for v in values {
        match v {
            Value::Null => types.push(0u64),
            Value::Integer(i) => {
                let i = *i;
                let (t, n) = match i {
                    0 => (8, 0),
                    1 => (9, 0),
                    -128..=127 => (1, 1),
                    -32768..=32767 => (2, 2),
                    -8_388_608..=8_388_607 => (3, 3),
                    -2_147_483_648..=2_147_483_647 => (4, 4),
                    -140_737_488_355_328..=140_737_488_355_327 => (5, 6),
                    _ => (6, 8),
                };
                types.push(t);
                let b = i.to_be_bytes();
                body.extend_from_slice(b.get(8 - n..).unwrap_or(&[]));
            }
            Value::Real(r) => {
                types.push(7);
                body.extend_from_slice(&r.to_bits().to_be_bytes());
            }
            Value::Text(s) => {
                let b: Vec<u8> = match enc {
                    TextEncoding::Utf8 => s.as_bytes().to_vec(),
                    TextEncoding::Utf16le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
                    TextEncoding::Utf16be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
                };
                types.push(13 + 2 * b.len() as u64);
                body.extend_from_slice(&b);
            }
            Value::Blob(b) => {
                types.push(12 + 2 * b.len() as u64);
                body.extend_from_slice(b);
            }
            Value::TextBytes { bytes, .. } => {
                types.push(13 + 2 * bytes.len() as u64);
                body.extend_from_slice(bytes);
            }
        }
    }
    let types_len: usize = types.iter().map(|&t| varint_len(t)).sum();
    let mut h = types_len + 1;
    while types_len + varint_len(h as u64) != h {
        h = types_len + varint_len(h as u64);
    }
    let mut out = write_varint(h as u64);
    for t in types {
        out.extend(write_varint(t));
    }
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_types() {
        let cases: &[(u64, Option<u64>)] = &[
            (0, Some(0)),
            (1, Some(1)),
            (4, Some(4)),
            (5, Some(6)),
            (6, Some(8)),
            (7, Some(8)),
            (8, Some(0)),
            (9, Some(0)),
            (10, None),
            (11, None),
            (12, Some(0)),
            (13, Some(0)),
            (14, Some(1)),
            (19, Some(3)),
        ];
        for &(t, n) in cases {
            assert_eq!(serial_type_len(t), n, "type {t}");
        }
    }

    #[test]
    fn every_type_round_trips() {
        let vals = vec![
            Value::Null,
            Value::Integer(0),
            Value::Integer(1),
            Value::Integer(-1),
            Value::Integer(300),
            Value::Integer(-70000),
            Value::Integer(1 << 30),
            Value::Integer(1 << 40),
            Value::Integer(i64::MIN),
            Value::Real(-2.5),
            Value::Text("héllo".into()),
            Value::Blob(vec![0, 255, 7]),
            Value::Text(String::new()),
        ];
        for enc in [TextEncoding::Utf8, TextEncoding::Utf16le, TextEncoding::Utf16be] {
            let b = encode_record(&vals, enc);
            let r = decode_record(&b, enc);
            assert_eq!(r.error, None);
            assert_eq!(r.values, vals);
        }
    }

    #[test]
    fn lying_headers_are_errors_not_panics() {
        // Header length beyond payload.
        assert_eq!(decode_record(&[0x7f, 1], TextEncoding::Utf8).error.unwrap().kind, RecordErrorKind::BadHeaderLength);
        // Body past end: one TEXT of 10 bytes, only 2 present.
        let r = decode_record(&[2, 33, b'a', b'b'], TextEncoding::Utf8);
        assert_eq!(r.error.unwrap().kind, RecordErrorKind::BodyPastEnd);
        // Reserved type.
        assert_eq!(
            decode_record(&[2, 10], TextEncoding::Utf8).error.unwrap().kind,
            RecordErrorKind::ReservedSerialType
        );
        // Truncated serial type varint inside the header.
        assert_eq!(decode_record(&[2, 0x81], TextEncoding::Utf8).error.unwrap().kind, RecordErrorKind::TruncatedHeader);
        // Huge blob type.
        let mut b = vec![10];
        b.extend(super::super::varint::write_varint(u64::MAX - 1));
        assert!(decode_record(&b, TextEncoding::Utf8).error.is_some());
        assert!(decode_record(&[], TextEncoding::Utf8).error.is_some());
    }
}
