//! The parse error: small, `Copy`, and carrying the byte offset an examiner needs.

use std::fmt;

/// What went wrong while decoding a structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input ended early: `needed` bytes were required at the offset.
    Truncated { needed: usize },
    /// The magic number is not the one the structure requires.
    BadMagic,
    /// A field holds a value the format does not allow.
    Invalid(&'static str),
}

/// A decoding failure at a byte offset of the file being decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the file (not in the slice) where the problem was found.
    pub offset: u64,
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub fn truncated(offset: u64, needed: usize) -> Self {
        Self { offset, kind: ParseErrorKind::Truncated { needed } }
    }
    pub fn bad_magic(offset: u64) -> Self {
        Self { offset, kind: ParseErrorKind::BadMagic }
    }
    pub fn invalid(offset: u64, what: &'static str) -> Self {
        Self { offset, kind: ParseErrorKind::Invalid(what) }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ParseErrorKind::Truncated { needed } => {
                write!(f, "truncated at offset {}: {} bytes needed", self.offset, needed)
            }
            ParseErrorKind::BadMagic => write!(f, "bad magic at offset {}", self.offset),
            ParseErrorKind::Invalid(what) => write!(f, "{} (offset {})", what, self.offset),
        }
    }
}

impl std::error::Error for ParseError {}
