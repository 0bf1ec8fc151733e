//! A b-tree page and its cells, freeblocks and the records in them: the first byte picks the
//! usable size and whether it is page 1, the rest is the page.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::format::btree::BtreePage;
use walinspect::format::record::{TextEncoding, decode_record};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, page)) = data.split_first() else { return };
    let usable = (page.len() as u32).saturating_sub(u32::from(sel & 0x1f));
    let enc = match sel >> 6 {
        1 => TextEncoding::Utf16le,
        2 => TextEncoding::Utf16be,
        _ => TextEncoding::Utf8,
    };
    if let Ok(p) = BtreePage::parse(page, sel & 0x20 != 0, usable) {
        let _ = p.freeblocks();
        for cell in p.cells().take(4096).flatten() {
            let _ = decode_record(cell.local, enc);
        }
    }
});
