//! The carver on a hostile page: the first byte picks the encoding, page 1, whether the page is
//! scanned whole (a trunk) and whether its cells are reported; the second picks signatures
//! (rowid / index-shaped, column classes); the rest is the page. Freeblock chains that loop or
//! point outside the page, sizes that overflow and record headers claiming huge lengths must
//! neither panic nor hang.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::format::carve::{CarveParams, Signature, carve_page, class};
use walinspect::format::record::TextEncoding;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Some((&sig_sel, page)) = rest.split_first() else { return };
    let enc = match sel & 3 {
        1 => TextEncoding::Utf16le,
        2 => TextEncoding::Utf16be,
        _ => TextEncoding::Utf8,
    };
    let masks = [class::NULL, class::TEXT | class::NULL, class::INT | class::NULL, class::ANY, class::REAL | class::INT];
    let ncols = usize::from(sig_sel & 7) + 1;
    let columns: Vec<u8> = (0..ncols).map(|i| masks[(usize::from(sig_sel >> 3) + i) % masks.len()]).collect();
    let sigs = vec![
        Signature { columns: columns.clone(), min_columns: ncols, index: false, seen: vec![vec![0, 1, 29]], min_body: 0, nonempty: Vec::new(), allow_guess: true },
        Signature { columns, min_columns: 1, index: true, seen: Vec::new(), min_body: 0, nonempty: Vec::new(), allow_guess: true },
    ];
    let prm = CarveParams {
        usable: page.len() as u32,
        page1: sel & 4 != 0,
        encoding: enc,
        cells: sel & 8 != 0,
        scan_from: (sel & 16 != 0).then_some(8),
        owner_sigs: usize::from(sel >> 5 & 1),
    };
    let pc = carve_page(page, &prm, &sigs);
    for c in &pc.records {
        assert!(c.offset + c.len <= page.len());
    }
});
