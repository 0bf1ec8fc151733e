//! All three files together: the input is split into db, -wal and -shm by its first bytes, then
//! analysed, checked, reported and rendered.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::analysis::{self, Inputs, ReadAt, findings};
use walinspect::present::text;
use walinspect::report::{DumpReport, Files};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let a = u16::from_le_bytes([data[0], data[1]]) as usize;
    let b = u16::from_le_bytes([data[2], data[3]]) as usize;
    let rest = &data[4..];
    let a = a.min(rest.len());
    let b = b.min(rest.len() - a);
    let (db, rest) = rest.split_at(a);
    let (shm, wal) = rest.split_at(b);
    let (db, wal, shm) = (db.to_vec(), wal.to_vec(), shm.to_vec());
    fn r(v: &Vec<u8>) -> Option<(&dyn ReadAt, u64)> {
        Some((v as &dyn ReadAt, v.len() as u64))
    }
    let an = analysis::analyze(&Inputs { db: r(&db), wal: r(&wal), shm: r(&shm) });
    let f = findings::check(&an);
    let rep = DumpReport::build("walinspect.dump", Files { db: None, wal: None, shm: None }, &an, &f);
    let _ = text::render_dump(&rep, text::Style { color: false });
});
