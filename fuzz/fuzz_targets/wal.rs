//! The WAL parser and scanner on arbitrary bytes: every frame classified, findings produced.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::analysis::wal::analyze_wal_bytes;

fuzz_target!(|data: &[u8]| {
    let a = analyze_wal_bytes(data);
    assert!(a.valid_frames <= a.chain_valid_frames);
    assert!(a.frames.len() as u64 == a.frames_total);
    for f in &a.frames {
        let _ = (f.state.name(), f.generations_ago);
    }
});
