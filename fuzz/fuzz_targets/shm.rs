//! The -shm decoder: both header copies, checkpoint info, every hash segment.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::analysis::shm::analyze_shm;

fuzz_target!(|data: &[u8]| {
    let a = analyze_shm(data, None);
    let _ = (a.trusted_header(), a.reference(), a.segments.len(), a.mismatch_count);
});
