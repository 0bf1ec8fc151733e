//! A short explanation of each finding code: cause, what SQLite does, remedy. The long form
//! is `docs/findings.md`; a test keeps this table complete against `findings::CODES`.

/// The explanation of `code`, if known.
pub fn explain(code: &str) -> Option<&'static str> {
    EXPLANATIONS.iter().find(|(c, _)| *c == code).map(|(_, e)| *e)
}

pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "db.missing",
        "Only the -wal (and maybe -shm) exists. Pages never written to the WAL are lost; SQLite would create a new empty database on open. Copy what is left before opening it with SQLite.",
    ),
    (
        "db.empty_with_wal",
        "The database file is 0 bytes while a -wal exists. SQLite deletes the -wal when it opens a 0-byte database, destroying the log. Copy all files first; rebuild from the WAL's frames.",
    ),
    (
        "db.unreadable",
        "The database file does not decode as SQLite (bad magic or too short). SQLite refuses it. Check that this is the right file; recover pages from the WAL if any.",
    ),
    (
        "db.bad_page_size",
        "The header's page size is not a power of two in 512..65536. SQLite refuses the file. The header (page 1) is damaged; a WAL copy of page 1 may restore it.",
    ),
    (
        "db.bad_payload_fractions",
        "Bytes 21..23 are not 64/32/32. SQLite refuses the file. Header damage; restore page 1 from a backup or a WAL frame.",
    ),
    (
        "db.rollback_header_with_wal",
        "The header says rollback journal mode but a -wal exists. SQLite still opens and uses the -wal's valid frames. Usually harmless; do not delete the -wal.",
    ),
    (
        "db.header_page_count_mismatch",
        "The in-header page count is marked valid but disagrees with the file size. SQLite trusts the header. A truncated or extended file: check for lost pages.",
    ),
    (
        "db.trailing_bytes",
        "The file size is not a multiple of the page size: a partial last page. SQLite ignores the partial page. Often an interrupted copy or extension.",
    ),
    (
        "wal.empty",
        "The -wal is 0 bytes: normal after a TRUNCATE checkpoint. The database file alone holds the current state.",
    ),
    (
        "wal.truncated_header",
        "The -wal is shorter than its 32-byte header. SQLite treats it as empty. Nothing to recover.",
    ),
    (
        "wal.header_only",
        "The -wal holds only its header. SQLite treats it as empty: normal right after a reset.",
    ),
    (
        "wal.bad_magic",
        "The -wal does not start with a WAL magic. SQLite ignores the whole file, so any committed data in it is invisible. Examine it before SQLite overwrites it.",
    ),
    (
        "wal.bad_page_size",
        "The WAL header's page size is invalid. SQLite ignores the whole file.",
    ),
    (
        "wal.bad_header_checksum",
        "The WAL header checksum is wrong. SQLite ignores the whole file: all its frames, committed or not, are invisible and will be overwritten. Copy the files before any connection opens them.",
    ),
    (
        "wal.bad_version",
        "The WAL format version is not 3007000 under a valid checksum. SQLite refuses to open the database (SQLITE_CANTOPEN).",
    ),
    (
        "wal.page_size_mismatch",
        "The WAL's page size differs from the database's. SQLite cannot use these frames consistently.",
    ),
    (
        "wal.torn_frame",
        "A partial frame at the end: a write was cut off (crash, power loss, full disk). SQLite ignores it; the transaction it belonged to never committed.",
    ),
    (
        "wal.uncommitted_frames",
        "Valid frames after the last commit: a transaction in progress, or a writer that died. SQLite ignores them until a commit frame follows; after a crash they are discarded.",
    ),
    (
        "wal.checksum_mismatch",
        "The checksum chain breaks at a frame with this generation's salts. Everything after it is invisible to SQLite, including any later commits: committed data may be lost. Keep a copy; repair can extract it.",
    ),
    (
        "wal.salt_mismatch",
        "The chain breaks at a frame whose salts belong to no known generation (foreign or damaged). The valid log ends there; later frames are invisible.",
    ),
    (
        "wal.page_zero",
        "A frame with page number 0 ends the valid log. Frames after it are invisible to SQLite.",
    ),
    (
        "wal.stale_frames",
        "Frames of earlier WAL generations remain after the valid end (the WAL was reset and not truncated). Invisible to SQLite; older versions of pages, valuable to an examiner.",
    ),
    (
        "wal.page_beyond_db_size",
        "A committed transaction holds pages beyond its commit's database size. SQLite never writes such frames: the WAL was tampered with or damaged.",
    ),
    (
        "wal.oversized",
        "The -wal is much larger than its valid content: space left by earlier, longer generations. Set journal_size_limit or checkpoint with TRUNCATE to reclaim it.",
    ),
    (
        "wal.changed_while_reading",
        "The -wal changed while it was read (a live writer). The analysis mixes two states; the next refresh settles it.",
    ),
    (
        "shm.not_initialized",
        "The -shm is too short or neither header copy is initialised. The next connection rebuilds the index from the WAL. Normal while a connection starts.",
    ),
    (
        "shm.header_copies_differ",
        "The two wal-index header copies differ: a writer is publishing a commit now, or died doing so. Copy 1 is written first. SQLite runs recovery if they still differ under the write lock.",
    ),
    (
        "shm.bad_header_checksum",
        "A wal-index header copy has a wrong checksum. SQLite does not trust it and rebuilds the index from the WAL.",
    ),
    (
        "shm.bad_version",
        "The wal-index version is not 3007000 under a valid checksum. SQLite refuses to open the database.",
    ),
    (
        "shm.foreign_byte_order",
        "The -shm was written by a host of the other byte order (it is native-endian). Informational.",
    ),
    (
        "shm.stale",
        "The wal-index belongs to another WAL generation (salts differ). A reader trusting it would see a state that never existed; the next first connection rebuilds it.",
    ),
    (
        "shm.lagging",
        "The index's mxFrame is below the WAL's valid frames: live readers do not see the last commits (the writer died before publishing them). Recovery will include them.",
    ),
    (
        "shm.ahead",
        "The index's mxFrame is beyond the WAL's valid frames: readers trusting it read frames that are missing or invalid. Corruption risk.",
    ),
    (
        "shm.wal_missing",
        "The index says frames are committed but there is no -wal: those transactions are gone unless already checkpointed (nBackfill).",
    ),
    ("shm.page_size_mismatch", "The index's page size differs from the WAL's."),
    (
        "shm.index_mismatch",
        "Hash-table entries for frames ≤ mxFrame disagree with the WAL: readers look pages up in the wrong frames and see wrong data.",
    ),
    (
        "shm.hash_corrupt",
        "Hash slots are out of range, point at empty entries, or cannot be reached by probing: lookups may miss the newest version of a page.",
    ),
    (
        "shm.stale_entries",
        "Index entries beyond mxFrame match no valid frame: left by a crashed writer or an earlier, longer WAL. SQLite ignores them.",
    ),
    (
        "shm.backfill_beyond_end",
        "nBackfill exceeds mxFrame: the checkpoint record claims frames that are not committed. Damaged index.",
    ),
    (
        "shm.read_mark_beyond_end",
        "A read mark names frames beyond mxFrame: a reader slot refers to uncommitted frames. Damaged index or a crash mid-update.",
    ),
    (
        "shm.read_mark0_nonzero",
        "Read mark 0 is not 0, but SQLite always keeps it 0. Damaged index.",
    ),
    (
        "shm.checkpoint_interrupted",
        "A checkpoint was interrupted while copying frames into the database file. The database file may mix versions; the WAL still holds them and the next checkpoint redoes the copy. Do not delete the -wal.",
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_finding_code_is_explained_and_nothing_else() {
        for code in crate::analysis::findings::CODES {
            assert!(super::explain(code).is_some(), "no explanation for {code}");
        }
        for (code, _) in super::EXPLANATIONS {
            assert!(crate::analysis::findings::CODES.contains(code), "{code} is not a finding code");
        }
    }
}
