//! Hostile input never panics the repair layer: a real WAL and database truncated at many
//! lengths and with bits flipped in their headers go through analysis, `rebuild_index`, and
//! the whole extract pipeline (plan, verify, write) on in-memory sources. Whenever a -shm is
//! rebuilt, our own checker must find it consistent with the WAL it came from.

use std::path::Path;

use crate::support::common::*;
use walinspect::analysis::shm::analyze_shm;
use walinspect::analysis::{Inputs, ReadAt, analyze};
use walinspect::format::shm::ShmEndian;
use walinspect::repair::extract::{self, ExtractOptions, Source, Sources};
use walinspect::repair::shm::rebuild_index;

fn exercise(db: &[u8], wal: &[u8], shm: Option<&[u8]>) {
    let (db, wal, shm) = (db.to_vec(), wal.to_vec(), shm.map(<[u8]>::to_vec));
    let (db, wal, shm) = (&db, &wal, shm.as_ref());
    let a = analyze(&Inputs {
        db: Some((db as &dyn ReadAt, db.len() as u64)),
        wal: Some((wal as &dyn ReadAt, wal.len() as u64)),
        shm: shm.map(|s| (s as &dyn ReadAt, s.len() as u64)),
    });
    if let Ok(r) = rebuild_index(a.wal.as_ref(), ShmEndian::Little) {
        let check = analyze_shm(&r.bytes, a.wal.as_ref());
        assert!(check.trusted_header().is_some());
        if r.copied_segment.is_none() {
            assert_eq!(check.mismatch_count, 0);
            assert_eq!(check.hash_errors, 0);
        }
    }
    let src = Sources {
        db: Some(Source { path: Path::new("db"), reader: db, len: db.len() as u64 }),
        wal: Some(Source { path: Path::new("wal"), reader: wal, len: wal.len() as u64 }),
    };
    let commits = a.wal.as_ref().map_or(0, |w| w.commits.len() as u32);
    for commit in [None, Some(0), Some(commits / 2), Some(commits + 1)] {
        let Ok(plan) = extract::plan_from(&a, &src, &ExtractOptions { commit, keep_wal_mode: false }) else {
            continue;
        };
        let Ok(v) = extract::verify(&plan, &a, &src) else {
            continue;
        };
        let mut sink = Vec::new();
        if let Ok(n) = extract::write(&plan, &v, &a, &src, &mut sink, Path::new("out")) {
            assert_eq!(n, plan.output_len);
            assert_eq!(sink.len() as u64, n);
        }
    }
}

#[test]
fn it_does_not_panic_on_truncated_or_flipped_inputs() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 512);
    commits(&c, 30);
    c.execute_batch("UPDATE t SET v = v || 'more' WHERE id % 2 = 0").unwrap();
    let ev = snapshot(&db, d.path(), "ev.db");
    let dbb = std::fs::read(&ev).unwrap();
    let walb = std::fs::read(sibling(&ev, "-wal")).unwrap();
    let shmb = std::fs::read(sibling(&ev, "-shm")).unwrap();
    exercise(&dbb, &walb, Some(&shmb));
    for len in (0..walb.len()).step_by(131).chain(0..100) {
        exercise(&dbb, &walb[..len], Some(&shmb));
    }
    for len in (0..dbb.len()).step_by(97) {
        exercise(&dbb[..len], &walb, None);
    }
    let frame2 = frame_off(&walb, 2);
    for byte in (0..32).chain(32..56).chain(frame2..frame2 + 24) {
        for bit in [0u8, 3, 7] {
            let mut w = walb.clone();
            w[byte] ^= 1 << bit;
            exercise(&dbb, &w, Some(&shmb));
        }
    }
    for byte in 0..100 {
        let mut b = dbb.clone();
        b[byte] ^= 0x81;
        exercise(&b, &walb, None);
    }
    for byte in (0..136).step_by(3) {
        let mut s = shmb.clone();
        s[byte] ^= 0x55;
        exercise(&dbb, &walb, Some(&s));
    }
}
