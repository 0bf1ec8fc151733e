//! Recognise an SQLite file by its content, never by its name.
//!
//! Backups and replication tools store WALs as `wal`, `ok`, `wal-00` or
//! `0000000000000001.wal`; phones and browsers keep databases under any extension. Each kind has
//! a fixed signature in its first bytes:
//!
//! | kind | signature | source |
//! |---|---|---|
//! | database | `"SQLite format 3\0"` at 0 | `btree.c` `zMagicHeader` |
//! | WAL | `0x377f0682` or `0x377f0683` (big-endian) at 0, version 3007000 at 4 | `wal.c` `WAL_MAGIC` |
//! | -shm | `iVersion` 3007000 at 0 in either byte order, `isInit` 0/1 at 12 | `wal.c` `WalIndexHdr` |
//! | rollback journal | `d9 d5 05 f9 20 a1 63 d7` at 0 (a zeroed header: all zero) | `pager.c` `aJournalMagic` |
//!
//! [`sniff`] needs only the first [`SNIFF_LEN`] bytes, so a walker can reject non-SQLite files
//! after one short read.

use super::db_header::DB_MAGIC;
use super::wal::{WAL_MAGIC_BE, WAL_MAGIC_LE, WAL_VERSION};

/// How many leading bytes [`sniff`] looks at (a full WAL header and a -shm header copy).
pub const SNIFF_LEN: usize = 48;

/// The rollback journal's magic (`pager.c` `aJournalMagic`).
pub const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// An SQLite database file (the 16-byte header string).
    Database,
    /// A write-ahead log; `big_endian_checksums` is the magic's low bit.
    Wal {
        /// Magic 0x377f0683: checksums computed on big-endian words.
        big_endian_checksums: bool,
    },
    /// A wal-index (`-shm`), written in the byte order of the host.
    Shm {
        /// The version field read big-endian (a big-endian host wrote it).
        big_endian: bool,
    },
    /// A rollback journal with a live header.
    Journal,
    /// A rollback journal whose header was zeroed (`journal_mode=PERSIST` after a commit) or a
    /// file of zeros of at least a header's length: could be a journal, holds no signature.
    ZeroHeader,
    /// Empty file: SQLite treats a 0-byte database as an empty database.
    Empty,
    /// None of the above.
    Other,
}

impl Sniffed {
    /// A short noun for messages: "database", "WAL", "-shm", "rollback journal", ...
    pub fn noun(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Wal { .. } => "WAL",
            Self::Shm { .. } => "-shm",
            Self::Journal => "rollback journal",
            Self::ZeroHeader => "zeroed header",
            Self::Empty => "empty file",
            Self::Other => "not SQLite",
        }
    }

    /// True for the kinds that carry an SQLite signature.
    pub fn is_sqlite(self) -> bool {
        matches!(self, Self::Database | Self::Wal { .. } | Self::Shm { .. } | Self::Journal)
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(w))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(w))
}

/// Classify a file by its first bytes (pass at least [`SNIFF_LEN`] when the file has them).
///
/// A WAL needs its magic and version; a -shm needs the version at 0 and `isInit` (offset 12)
/// equal to 0 or 1, because a bare 3007000 is a weak signature. Checksums are not verified here:
/// a WAL with a bad header checksum is still a WAL (SQLite ignores it, the analysis says so).
pub fn sniff(head: &[u8]) -> Sniffed {
    if head.is_empty() {
        return Sniffed::Empty;
    }
    if head.starts_with(DB_MAGIC) {
        return Sniffed::Database;
    }
    if head.starts_with(&JOURNAL_MAGIC) {
        return Sniffed::Journal;
    }
    if let (Some(magic), Some(version)) = (be32(head, 0), be32(head, 4))
        && (magic == WAL_MAGIC_LE || magic == WAL_MAGIC_BE)
        && version == WAL_VERSION
    {
        return Sniffed::Wal { big_endian_checksums: magic == WAL_MAGIC_BE };
    }
    let is_init = head.get(12).copied();
    let init_ok = matches!(is_init, Some(0 | 1));
    if init_ok && head.len() >= 48 {
        if le32(head, 0) == Some(WAL_VERSION) {
            return Sniffed::Shm { big_endian: false };
        }
        if be32(head, 0) == Some(WAL_VERSION) {
            return Sniffed::Shm { big_endian: true };
        }
    }
    if head.len() >= 28 && head.iter().take(28).all(|&b| b == 0) {
        return Sniffed::ZeroHeader;
    }
    Sniffed::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signature() {
        let mut db = DB_MAGIC.to_vec();
        db.resize(100, 0);
        assert_eq!(sniff(&db), Sniffed::Database);

        let mut wal = Vec::new();
        wal.extend_from_slice(&WAL_MAGIC_BE.to_be_bytes());
        wal.extend_from_slice(&WAL_VERSION.to_be_bytes());
        wal.resize(32, 0);
        assert_eq!(sniff(&wal), Sniffed::Wal { big_endian_checksums: true });
        wal[3] = 0x82;
        assert_eq!(sniff(&wal), Sniffed::Wal { big_endian_checksums: false });
        wal[7] ^= 0xff; // wrong version
        assert_eq!(sniff(&wal), Sniffed::Other);

        let mut shm = WAL_VERSION.to_le_bytes().to_vec();
        shm.resize(136, 0);
        shm[12] = 1;
        assert_eq!(sniff(&shm), Sniffed::Shm { big_endian: false });
        let mut shm_be = WAL_VERSION.to_be_bytes().to_vec();
        shm_be.resize(136, 0);
        assert_eq!(sniff(&shm_be), Sniffed::Shm { big_endian: true });
        shm_be[12] = 7; // isInit must be 0 or 1
        assert_eq!(sniff(&shm_be), Sniffed::Other);

        let mut j = JOURNAL_MAGIC.to_vec();
        j.resize(28, 0);
        assert_eq!(sniff(&j), Sniffed::Journal);
        assert_eq!(sniff(&[0u8; 512]), Sniffed::ZeroHeader);
        assert_eq!(sniff(&[]), Sniffed::Empty);
        assert_eq!(sniff(b"hello!"), Sniffed::Other);
        assert_eq!(sniff(b"SQLite"), Sniffed::Other);
    }
}
