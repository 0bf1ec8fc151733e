//! The fast paths (threads, the vectorised linear checksum) give exactly the simple path's
//! answers: on every sample, and on a large real WAL damaged at random frames.

use std::fs;

use crate::support::common::*;
use walinspect::analysis::ReadAt;
use walinspect::analysis::wal::{ScanOptions, WalAnalysis, analyze_wal_opts};

/// A source that only answers positioned reads (like a file), in small pieces, so the copying
/// path is exercised too (byte slices are verified in place).
struct Pread<'a>(&'a [u8]);

impl ReadAt for Pread<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(3000); // short reads, as a pipe or a busy file may give
        let src = self.0.get(offset as usize..).unwrap_or(&[]);
        let n = n.min(src.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }
}

fn variants(wal: &[u8]) -> Vec<WalAnalysis> {
    let len = wal.len() as u64;
    let pread = Pread(wal);
    let opts = [
        ScanOptions::simple(),
        ScanOptions { threads: 1, simple_checksum: false, task_bytes: 8 << 20 },
        ScanOptions { threads: 2, simple_checksum: false, task_bytes: 64 << 10 },
        ScanOptions { threads: 3, simple_checksum: true, task_bytes: 4 << 10 },
        ScanOptions { threads: 4, simple_checksum: false, task_bytes: 1 },
    ];
    let mut v: Vec<WalAnalysis> = opts.iter().map(|o| analyze_wal_opts(wal, len, *o)).collect();
    v.extend(opts.iter().map(|o| analyze_wal_opts(&pread, len, *o)));
    v
}

fn all_agree(wal: &[u8], what: &str) {
    let v = variants(wal);
    for (i, a) in v.iter().enumerate().skip(1) {
        assert!(a == &v[0], "{what}: variant {i} differs from the simple path");
    }
}

#[test]
fn samples_agree() {
    for name in ["healthy", "crashed", "reset", "damaged"] {
        let wal = fs::read(format!("samples/{name}/app.db-wal")).unwrap();
        all_agree(&wal, name);
    }
}

#[test]
fn large_wal_with_random_damage_agrees() {
    let d = tempdir();
    let db = d.path().join("big.db");
    let c = wal_db(&db, 1024);
    c.execute_batch("PRAGMA synchronous=OFF; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);").unwrap();
    for i in 0..600 {
        c.execute_batch("BEGIN").unwrap();
        for _ in 0..8 {
            c.execute("INSERT INTO t(v) VALUES (randomblob(300 + ?1 % 500))", [i]).unwrap();
        }
        c.execute_batch("COMMIT").unwrap();
        if i == 300 {
            c.query_row("PRAGMA wal_checkpoint", [], |_| Ok(())).unwrap(); // a reset: stale frames later
        }
    }
    let ev = snapshot(&db, d.path(), "ev.db");
    let clean = fs::read(sibling(&ev, "-wal")).unwrap();
    let frames = (clean.len() - 32) / 1048;
    assert!(frames > 2000, "{frames} frames");
    all_agree(&clean, "clean");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    for round in 0..12 {
        let mut w = clean.clone();
        for _ in 0..1 + round % 3 {
            let f = 1 + rnd(frames);
            let o = 32 + (f - 1) * 1048;
            match rnd(4) {
                0 => w[o + 24 + rnd(1024)] ^= 1 << rnd(8),       // page data
                1 => w[o + 8 + rnd(8)] ^= 1 << rnd(8),           // salts
                2 => w[o..o + 4].copy_from_slice(&[0, 0, 0, 0]), // page zero
                _ => w[o + 16 + rnd(8)] ^= 1 << rnd(8),          // stored checksum
            }
        }
        if round % 4 == 3 {
            let cut = w.len() - rnd(5000);
            w.truncate(cut);
        }
        all_agree(&w, &format!("round {round}"));
    }
}
