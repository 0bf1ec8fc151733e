//! Values and comparisons as SQLite 3.40's VDBE sees them in the index checks of
//! `PRAGMA integrity_check`: a record read the way `OP_Column` reads it (and refused where it
//! refuses it), `sqlite3MemCompare` with the BINARY, NOCASE and RTRIM collations, and
//! `sqlite3VdbeRecordCompare` of a stored index record against an unpacked key (with DESC
//! columns). Pure functions over byte slices.

use std::cmp::Ordering;

use crate::format::record::TextEncoding;

/// A value in a register (`Mem`): text and blobs keep their stored bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Mem {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

/// The datatype classes `OP_IsType` tests, as its mask bits.
pub const T_INT: u8 = 0x01;
pub const T_FLOAT: u8 = 0x02;
pub const T_TEXT: u8 = 0x04;
pub const T_BLOB: u8 = 0x08;
pub const T_NULL: u8 = 0x10;

/// A value borrowed from a record or a register (what comparisons read).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MemRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

impl Mem {
    pub fn as_ref(&self) -> MemRef<'_> {
        match self {
            Self::Null => MemRef::Null,
            Self::Int(i) => MemRef::Int(*i),
            Self::Real(r) => MemRef::Real(*r),
            Self::Text(t) => MemRef::Text(t),
            Self::Blob(b) => MemRef::Blob(b),
        }
    }

    /// The `OP_IsType` class bit.
    pub fn class(&self) -> u8 {
        match self {
            Self::Null => T_NULL,
            Self::Int(_) => T_INT,
            Self::Real(_) => T_FLOAT,
            Self::Text(_) => T_TEXT,
            Self::Blob(_) => T_BLOB,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

/// The class bit of a serial type (`OP_IsType` reading a record header).
pub fn serial_class(t: u64) -> u8 {
    match t {
        0 | 10 | 11 => T_NULL,
        7 => T_FLOAT,
        1..=9 => T_INT,
        n if n % 2 == 0 => T_BLOB,
        _ => T_TEXT,
    }
}

/// Body length of a serial type as SQLite computes it (10 and 11 are 0 bytes).
pub fn serial_len(t: u64) -> u64 {
    match t {
        0 | 8..=11 => 0,
        1..=4 => t,
        5 => 6,
        6 | 7 => 8,
        n => (n - 12) / 2,
    }
}

/// SQLite's `getVarint`: up to 9 bytes, reading zeros past the end; (value, length).
pub fn varint(d: &[u8], at: usize) -> (u64, usize) {
    let mut v: u64 = 0;
    for i in 0..8 {
        let b = d.get(at + i).copied().unwrap_or(0);
        v = (v << 7) | u64::from(b & 0x7f);
        if b < 0x80 {
            return (v, i + 1);
        }
    }
    (v << 8 | u64::from(d.get(at + 8).copied().unwrap_or(0)), 9)
}

/// A record's header as `OP_Column` parses it: (serial type, body offset) per field.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    pub types: Vec<(u64, u64)>,
}

/// The record is malformed the way `OP_Column` detects it (SQLITE_CORRUPT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// Parse a record header up to field `upto` (inclusive), as `OP_Column` does for column
/// `upto`: the header size must fit the payload (and 98307), and once the whole header is
/// parsed the bodies must end exactly at the end of the payload (never past it).
pub fn parse_fields(payload: &[u8], upto: usize) -> Result<Fields, Malformed> {
    parse_fields_at(payload, payload, upto)
}

/// [`parse_fields`] where the header-size varint is read from `at_cell` — the page bytes where
/// the payload starts: `OP_Column` reads that byte even when the payload is shorter.
pub fn parse_fields_at(payload: &[u8], at_cell: &[u8], upto: usize) -> Result<Fields, Malformed> {
    let size = payload.len() as u64;
    let (hdr, n) = varint(at_cell, 0);
    if hdr > 98_307 || hdr > size {
        return Err(Malformed);
    }
    let mut out = Fields::default();
    if n as u64 >= hdr {
        // No serial types at all: every column reads as its default, and OP_Column never
        // reaches its consistency test.
        return Ok(out);
    }
    let mut at = n as u64;
    let mut offset = hdr;
    while out.types.len() <= upto && at < hdr {
        let (t, k) = varint(payload, at as usize);
        at += k as u64;
        out.types.push((t, offset));
        offset = offset.saturating_add(serial_len(t));
    }
    if (at >= hdr && (at > hdr || offset != size)) || offset > size {
        return Err(Malformed);
    }
    Ok(out)
}

/// The value of field `i` of a parsed record (`sqlite3VdbeSerialGet`).
pub fn field(payload: &[u8], f: &Fields, i: usize) -> Option<Mem> {
    let &(t, off) = f.types.get(i)?;
    let body = payload.get(off as usize..(off + serial_len(t)) as usize).unwrap_or(&[]);
    Some(value(t, body))
}

fn value(t: u64, body: &[u8]) -> Mem {
    match value_ref(t, body) {
        MemRef::Null => Mem::Null,
        MemRef::Int(i) => Mem::Int(i),
        MemRef::Real(r) => Mem::Real(r),
        MemRef::Text(b) => Mem::Text(b.to_vec()),
        MemRef::Blob(b) => Mem::Blob(b.to_vec()),
    }
}

fn value_ref(t: u64, body: &[u8]) -> MemRef<'_> {
    let int = |b: &[u8]| {
        let mut v: i64 = if b.first().is_some_and(|&x| x & 0x80 != 0) { -1 } else { 0 };
        for &x in b {
            v = (v << 8) | i64::from(x);
        }
        v
    };
    match t {
        0 | 10 | 11 => MemRef::Null,
        1..=6 => MemRef::Int(int(body)),
        7 => {
            let mut a = [0u8; 8];
            for (d, s) in a.iter_mut().zip(body) {
                *d = *s;
            }
            MemRef::Real(f64::from_bits(u64::from_be_bytes(a)))
        }
        8 => MemRef::Int(0),
        9 => MemRef::Int(1),
        n if n % 2 == 0 => MemRef::Blob(body),
        _ => MemRef::Text(body),
    }
}

/// The collating sequences SQLite builds in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coll {
    Binary,
    NoCase,
    Rtrim,
}

impl Coll {
    /// A collation by name (None: not built in, so not comparable here).
    pub fn by_name(name: Option<&str>) -> Option<Self> {
        match name.map(str::to_ascii_uppercase).as_deref() {
            None | Some("BINARY") => Some(Self::Binary),
            Some("NOCASE") => Some(Self::NoCase),
            Some("RTRIM") => Some(Self::Rtrim),
            _ => None,
        }
    }
}

/// How the key of one index column compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPart {
    pub coll: Coll,
    pub desc: bool,
}

fn utf8_of(b: &[u8], enc: TextEncoding) -> Vec<u8> {
    match enc {
        TextEncoding::Utf8 => b.to_vec(),
        e => e.decode(b).into_bytes(),
    }
}

fn compare_text(a: &[u8], b: &[u8], coll: Coll, enc: TextEncoding) -> Ordering {
    match coll {
        Coll::Binary => a.cmp(b),
        Coll::NoCase => {
            // sqlite3StrNICmp over the shorter length (ASCII folding), then the lengths; the
            // collation is registered for UTF-8, so UTF-16 text is converted first.
            let (a, b) = (utf8_of(a, enc), utf8_of(b, enc));
            let n = a.len().min(b.len());
            for (x, y) in a.iter().zip(b.iter()).take(n) {
                let o = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.len().cmp(&b.len())
        }
        Coll::Rtrim => {
            let trim = |s: &[u8]| {
                let mut n = s.len();
                while n > 0 && s.get(n - 1) == Some(&b' ') {
                    n -= 1;
                }
                s.get(..n).unwrap_or(&[]).to_vec()
            };
            let (a, b) = (utf8_of(a, enc), utf8_of(b, enc));
            trim(&a).cmp(&trim(&b))
        }
    }
}

/// `sqlite3IntFloatCompare`.
fn int_float(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Greater;
    }
    if r < -9_223_372_036_854_775_808.0 {
        return Ordering::Greater;
    }
    if r >= 9_223_372_036_854_775_808.0 {
        return Ordering::Less;
    }
    let y = r as i64;
    match i.cmp(&y) {
        Ordering::Equal => (i as f64).partial_cmp(&r).unwrap_or(Ordering::Equal),
        o => o,
    }
}

/// `sqlite3MemCompare`: NULL < numbers < text < blob.
pub fn mem_compare(a: &Mem, b: &Mem, coll: Coll, enc: TextEncoding) -> Ordering {
    ref_compare(a.as_ref(), b.as_ref(), coll, enc)
}

/// [`mem_compare`] over borrowed values.
pub fn ref_compare(a: MemRef<'_>, b: MemRef<'_>, coll: Coll, enc: TextEncoding) -> Ordering {
    use MemRef::*;
    match (a, b) {
        (Null, Null) => Ordering::Equal,
        (Null, _) => Ordering::Less,
        (_, Null) => Ordering::Greater,
        (Int(x), Int(y)) => x.cmp(&y),
        (Real(x), Real(y)) => x.partial_cmp(&y).unwrap_or(if x.is_nan() { Ordering::Less } else { Ordering::Greater }),
        (Int(x), Real(y)) => int_float(x, y),
        (Real(x), Int(y)) => int_float(y, x).reverse(),
        (Int(_) | Real(_), _) => Ordering::Less,
        (_, Int(_) | Real(_)) => Ordering::Greater,
        (Text(x), Text(y)) => compare_text(x, y, coll, enc),
        (Text(_), Blob(_)) => Ordering::Less,
        (Blob(_), Text(_)) => Ordering::Greater,
        (Blob(x), Blob(y)) => x.cmp(y),
    }
}

/// `sqlite3VdbeRecordCompare` of a stored record against `key` over at most `n_field`
/// fields; `default` is what all-equal returns (`default_rc`). Err when the stored record is
/// malformed (the comparison sets SQLITE_CORRUPT).
pub fn record_compare(
    rec: &[u8],
    key: &[Mem],
    parts: &[KeyPart],
    n_field: usize,
    default: Ordering,
    enc: TextEncoding,
) -> Result<Ordering, Malformed> {
    let size = rec.len() as u64;
    let (hdr, n) = varint(rec, 0);
    if hdr > 98_307 {
        return Err(Malformed);
    }
    let mut at = n as u64;
    let mut off = hdr;
    let mut i = 0usize;
    while at < hdr && i < n_field {
        let (t, k) = varint(rec, at as usize);
        at += k as u64;
        let len = serial_len(t);
        if off.saturating_add(len) > size {
            return Err(Malformed);
        }
        let v = value_ref(t, rec.get(off as usize..(off + len) as usize).unwrap_or(&[]));
        off += len;
        let part = parts.get(i).copied().unwrap_or(KeyPart { coll: Coll::Binary, desc: false });
        let Some(kv) = key.get(i) else { break };
        let o = ref_compare(v, kv.as_ref(), part.coll, enc);
        if o != Ordering::Equal {
            return Ok(if part.desc { o.reverse() } else { o });
        }
        i += 1;
    }
    Ok(default)
}

/// True when text converts to a number under NUMERIC affinity (`sqlite3AtoF` accepting the
/// whole string, surrounding spaces allowed): what `OP_Affinity "C"` turns into INT or REAL.
pub fn numeric_text(b: &[u8], enc: TextEncoding) -> bool {
    let s = utf8_of(b, enc);
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = s.iter().position(|c| !is_space(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !is_space(c)).map_or(start, |e| e + 1);
    let t = s.get(start..end).unwrap_or(&[]);
    let mut i = 0usize;
    if matches!(t.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s0 = *i;
        while t.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - s0
    };
    let mut n = digits(&mut i);
    if t.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == t.len() && !t.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_texts() {
        for s in ["7", " 12 ", "1e5", "-3.5", "1.", ".5", "+2E-3"] {
            assert!(numeric_text(s.as_bytes(), TextEncoding::Utf8), "{s}");
        }
        for s in ["12abc", "x", "", " ", ".", "1e", "0x10", "--1"] {
            assert!(!numeric_text(s.as_bytes(), TextEncoding::Utf8), "{s}");
        }
    }

    #[test]
    fn compare_order_and_collations() {
        let e = TextEncoding::Utf8;
        assert_eq!(mem_compare(&Mem::Null, &Mem::Int(1), Coll::Binary, e), Ordering::Less);
        assert_eq!(mem_compare(&Mem::Int(2), &Mem::Real(2.0), Coll::Binary, e), Ordering::Equal);
        assert_eq!(mem_compare(&Mem::Int(2), &Mem::Real(2.5), Coll::Binary, e), Ordering::Less);
        assert_eq!(mem_compare(&Mem::Real(9.0), &Mem::Text(b"1".to_vec()), Coll::Binary, e), Ordering::Less);
        assert_eq!(mem_compare(&Mem::Text(b"z".to_vec()), &Mem::Blob(vec![0]), Coll::Binary, e), Ordering::Less);
        let (a, b) = (Mem::Text(b"ABC".to_vec()), Mem::Text(b"abc".to_vec()));
        assert_eq!(mem_compare(&a, &b, Coll::Binary, e), Ordering::Less);
        assert_eq!(mem_compare(&a, &b, Coll::NoCase, e), Ordering::Equal);
        let c = Mem::Text(b"abc  ".to_vec());
        assert_eq!(mem_compare(&b, &c, Coll::Rtrim, e), Ordering::Equal);
        assert_eq!(mem_compare(&b, &c, Coll::Binary, e), Ordering::Less);
    }

    #[test]
    fn records() {
        // Header 3 bytes: size 3, int8, text of 1 byte; body 5, 'a'.
        let r = [3u8, 1, 15, 5, b'a'];
        let f = parse_fields(&r, 10).unwrap();
        assert_eq!(field(&r, &f, 0), Some(Mem::Int(5)));
        assert_eq!(field(&r, &f, 1), Some(Mem::Text(b"a".to_vec())));
        assert!(parse_fields(&r[..4], 10).is_err());
        assert!(parse_fields(&[200, 1], 0).is_err());
        assert!(parse_fields(&[0, 1, 2, 3], 5).unwrap().types.is_empty());
        let parts = [KeyPart { coll: Coll::Binary, desc: false }; 2];
        let key = [Mem::Int(5), Mem::Text(b"b".to_vec())];
        assert_eq!(record_compare(&r, &key, &parts, 2, Ordering::Equal, TextEncoding::Utf8), Ok(Ordering::Less));
        assert_eq!(record_compare(&r, &key, &parts, 1, Ordering::Equal, TextEncoding::Utf8), Ok(Ordering::Equal));
        let desc = [KeyPart { coll: Coll::Binary, desc: true }; 2];
        assert_eq!(record_compare(&r, &key, &desc, 2, Ordering::Equal, TextEncoding::Utf8), Ok(Ordering::Greater));
    }
}
