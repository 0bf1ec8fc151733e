//! The database header and page-1 b-tree header.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::analysis::DbAnalysis;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = DbAnalysis::parse(data, data.len() as u64) {
        let _ = (d.header.page_size(), d.header.usable_size(), d.pages_in_file(), d.effective_page_count());
        let _ = d.header.sqlite_version_string();
    }
});
