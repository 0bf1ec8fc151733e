//! The forensics over a database and its -wal (the first 2 bytes give the split): snapshots,
//! page ownership, the timeline with row diffs, history of a row, salvage.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::analysis::{Inputs, ReadAt, analyze};
use walinspect::forensics::history::{KeySpec, history};
use walinspect::forensics::salvage::salvage;
use walinspect::forensics::snapshot::Forensics;
use walinspect::forensics::timeline::{TrackOptions, timeline};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = (usize::from(data[0]) | usize::from(data[1]) << 8) * 16;
    let rest = &data[2..];
    let (db, wal) = rest.split_at(split.min(rest.len()));
    let (db, wal) = (db.to_vec(), wal.to_vec());
    fn r(v: &Vec<u8>) -> Option<(&dyn ReadAt, u64)> {
        Some((v as &dyn ReadAt, v.len() as u64))
    }
    let a = analyze(&Inputs { db: r(&db), wal: r(&wal), shm: None });
    let Ok(fx) = Forensics::new(&a, r(&db), r(&wal)) else { return };
    let _ = timeline(&fx, TrackOptions { rows: true, budget: 200_000, ..Default::default() });
    let _ = history(&fx, "t", &KeySpec::Rowid(1));
    let _ = salvage(&fx);
});
