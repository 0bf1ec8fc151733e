//! `rebuild-shm`: the -shm SQLite's recovery would build from any -wal; whenever one is built,
//! our own checker must find it consistent with the WAL it came from.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::analysis::shm::analyze_shm;
use walinspect::analysis::wal::analyze_wal_bytes;
use walinspect::format::shm::ShmEndian;
use walinspect::repair::shm::rebuild_index;

fuzz_target!(|data: &[u8]| {
    let w = analyze_wal_bytes(data);
    for endian in [ShmEndian::Little, ShmEndian::Big] {
        if let Ok(r) = rebuild_index(Some(&w), endian) {
            let check = analyze_shm(&r.bytes, Some(&w));
            assert!(check.trusted_header().is_some(), "rebuilt header is trusted");
            if r.copied_segment.is_none() {
                assert_eq!(check.mismatch_count, 0, "rebuilt index matches the WAL");
                assert_eq!(check.hash_errors, 0);
            }
        }
    }
});
