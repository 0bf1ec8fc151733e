//! The adversary's sweep, kept: every sample (db, -wal, -shm made by a real SQLite) mutated
//! many ways — bit flips, truncations, extreme header fields, garbage pages carrying valid
//! checksums, hostile -shm fields with a valid header checksum — and run through everything:
//! in process (analysis, findings, reports, text, forensics, rebuild-shm, extract) for every
//! mutation, and through the binary with every command for a share of them. Nothing may panic,
//! hang, print invalid JSON, exit outside 0–2, or change the evidence.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::common::*;
use walinspect::analysis::{Inputs, ReadAt, analyze, findings};
use walinspect::forensics::history::{KeySpec, history};
use walinspect::forensics::salvage::salvage;
use walinspect::forensics::snapshot::Forensics;
use walinspect::forensics::timeline::{TrackOptions, timeline};
use walinspect::format::shm::{ShmEndian, WalIndexHeader};
use walinspect::present::text;
use walinspect::repair::extract::{self, ExtractOptions, Source, Sources};
use walinspect::repair::shm::rebuild_index;
use walinspect::report::{DumpReport, Files};

const SAMPLES: [&str; 4] = ["crashed", "damaged", "healthy", "reset"];

/// xorshift64*: deterministic, so a failure names a reproducible mutation.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

#[derive(Clone)]
struct Set {
    db: Vec<u8>,
    wal: Vec<u8>,
    shm: Vec<u8>,
}

fn load(sample: &str) -> Set {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(sample);
    let r = |n: &str| std::fs::read(d.join(n)).unwrap_or_default();
    Set { db: r("app.db"), wal: r("app.db-wal"), shm: r("app.db-shm") }
}

/// Re-chain every whole frame's checksum from the WAL header (its own byte order), so frames
/// carry valid checksums whatever their content.
fn rechain(wal: &mut [u8]) {
    if wal.len() < 32 {
        return;
    }
    let big = wal[3] & 1 == 1;
    let c = cksum(big, &wal[..24], [0, 0]);
    let put = |w: &mut [u8], off: usize, v: u32| w[off..off + 4].copy_from_slice(&v.to_be_bytes());
    put(wal, 24, c[0]);
    put(wal, 28, c[1]);
    let ps = wal_page_size(wal);
    if !(512..=65536).contains(&ps) {
        return;
    }
    let mut seed = c;
    let mut off = 32;
    while off + 24 + ps <= wal.len() {
        let mut s = cksum(big, &wal[off..off + 8], seed);
        s = cksum(big, &wal[off + 24..off + 24 + ps], s);
        put(wal, off + 16, s[0]);
        put(wal, off + 20, s[1]);
        seed = s;
        off += 24 + ps;
    }
}

/// Set hostile -shm header fields in both copies, sealed with a valid checksum.
fn hostile_shm(shm: &mut [u8], rng: &mut Rng) {
    let e = ShmEndian::detect(shm);
    let Ok(mut h) = WalIndexHeader::parse(shm, e) else { return };
    match rng.below(5) {
        0 => h.mx_frame = u32::MAX,
        1 => h.db_pages = u32::MAX,
        2 => h.page_size_raw = [0, 1, 3, 0xffff][rng.below(4)],
        3 => (h.salt1, h.salt2) = (rng.next() as u32, rng.next() as u32),
        _ => h.mx_frame = h.mx_frame.wrapping_add(1 + rng.below(5000) as u32),
    }
    let enc = h.sealed(e).encode(e);
    if shm.len() >= 96 {
        shm[..48].copy_from_slice(&enc);
        shm[48..96].copy_from_slice(&enc);
    }
    // A read mark or nBackfill past the end, sometimes.
    if rng.below(2) == 0 && shm.len() >= 136 {
        let off = 96 + 4 * rng.below(10);
        shm[off..off + 4].copy_from_slice(&(rng.next() as u32).to_ne_bytes());
    }
}

fn mutate(base: &Set, rng: &mut Rng) -> (String, Set) {
    let mut s = base.clone();
    let kind = rng.below(7);
    let what = match kind {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let f = match rng.below(3) {
                    0 => &mut s.db,
                    1 => &mut s.wal,
                    _ => &mut s.shm,
                };
                if !f.is_empty() {
                    let i = rng.below(f.len());
                    f[i] ^= 1 << rng.below(8);
                }
            }
            "bit flips"
        }
        1 => {
            let n = rng.below(s.wal.len() + 1);
            s.wal.truncate(n);
            "truncated -wal"
        }
        2 => {
            // Extreme WAL/db header fields.
            let v = [0u32, 1, 512, 65536, u32::MAX, 0x8000_0000][rng.below(6)];
            match rng.below(4) {
                0 if s.wal.len() >= 32 => s.wal[8..12].copy_from_slice(&v.to_be_bytes()),
                1 if s.wal.len() >= 32 => s.wal[12..16].copy_from_slice(&v.to_be_bytes()),
                2 if s.db.len() >= 100 => s.db[28..32].copy_from_slice(&v.to_be_bytes()),
                _ if s.db.len() >= 100 => s.db[16..18].copy_from_slice(&(v as u16).to_be_bytes()),
                _ => {}
            }
            rechain(&mut s.wal);
            "extreme header field"
        }
        3 | 4 => {
            // Garbage pages that SQLite's checksum accepts: random bytes, or a b-tree page
            // header with hostile counts and pointers.
            let ps = if s.wal.len() >= 32 { wal_page_size(&s.wal) } else { 0 };
            if (512..=65536).contains(&ps) && s.wal.len() >= 32 + 24 + ps {
                let frames = (s.wal.len() - 32) / (24 + ps);
                for _ in 0..1 + rng.below(3) {
                    let off = frame_off(&s.wal, 1 + rng.below(frames)) + 24;
                    let page = &mut s.wal[off..off + ps];
                    if kind == 3 {
                        page.iter_mut().for_each(|b| *b = rng.next() as u8);
                    } else {
                        let t = [0x02u8, 0x05, 0x0a, 0x0d][rng.below(4)];
                        page[0] = t;
                        page[1..3].copy_from_slice(&(rng.next() as u16).to_be_bytes());
                        page[3..5].copy_from_slice(&(rng.next() as u16).to_be_bytes());
                        page[5..7].copy_from_slice(&(rng.next() as u16).to_be_bytes());
                        page[8..12].copy_from_slice(&(rng.next() as u32).to_be_bytes());
                        for i in 0..32 {
                            let p = 12 + 2 * i;
                            page[p..p + 2].copy_from_slice(&(rng.below(ps + 100) as u16).to_be_bytes());
                        }
                    }
                }
                rechain(&mut s.wal);
            }
            "garbage pages with valid checksums"
        }
        5 => {
            hostile_shm(&mut s.shm, rng);
            "hostile -shm fields"
        }
        _ => {
            let n = rng.below(s.shm.len() + 1);
            s.shm.truncate(n);
            let n = rng.below(s.db.len() + 1);
            s.db.truncate(n);
            "truncated db and -shm"
        }
    };
    (what.to_string(), s)
}

/// Everything in process.
fn exercise(s: &Set) {
    #[allow(clippy::ptr_arg)]
    fn r(v: &Vec<u8>) -> Option<(&dyn ReadAt, u64)> {
        Some((v as &dyn ReadAt, v.len() as u64))
    }
    let a = analyze(&Inputs { db: r(&s.db), wal: r(&s.wal), shm: r(&s.shm) });
    let f = findings::check(&a);
    let rep = DumpReport::build("walinspect.dump", Files { db: None, wal: None, shm: None }, &a, &f);
    serde_json::to_string(&rep).unwrap();
    let _ = text::render_dump(&rep, text::Style { color: false });
    let _ = text::render_info(&rep, text::Style { color: true });
    if let Ok(fx) = Forensics::new(&a, r(&s.db), r(&s.wal)) {
        let _ = timeline(&fx, TrackOptions { rows: true, budget: 1_000_000, ..Default::default() });
        let _ = history(&fx, "t", &KeySpec::Rowid(1));
        let _ = salvage(&fx);
    }
    let _ = rebuild_index(a.wal.as_ref(), ShmEndian::Little);
    let src = Sources {
        db: Some(Source { path: Path::new("db"), reader: &s.db, len: s.db.len() as u64 }),
        wal: Some(Source { path: Path::new("wal"), reader: &s.wal, len: s.wal.len() as u64 }),
    };
    if let Ok(plan) = extract::plan(&a, Some(s.db.len() as u64), &ExtractOptions::default())
        && let Ok(v) = extract::verify(&plan, &a, &src)
    {
        let mut sink = Vec::new();
        let _ = extract::write(&plan, &v, &a, &src, &mut sink, Path::new("out"));
    }
}

/// Every command through the binary, on the files written to `dir`.
fn every_command(dir: &Path, what: &str) {
    let db = dir.join("app.db");
    let p = db.to_str().unwrap();
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let guard = Unchanged::record(&db);
    let cmds: [&[&str]; 12] = [
        &["info", p],
        &["check", p, "--json"],
        &["dump", p],
        &["dump", p, "--json", "--owners"],
        &["timeline", p, "--values"],
        &["timeline", p, "--json", "--values"],
        &["history", p, "--table", "t", "--rowid", "1", "--json"],
        &["salvage", p, "--json"],
        &["salvage", p],
        &["locks", p, "--json"],
        &["rebuild-shm", p, "-o", o, "--force"],
        &["extract", p, "-o", o, "--force", "--allow-inexact"],
    ];
    for args in cmds {
        let r = run(args);
        assert!((0..=2).contains(&r.code), "{what}: {args:?} exited {}: {}", r.code, r.stderr);
        assert!(!r.stderr.contains("panicked"), "{what}: {args:?} panicked: {}", r.stderr);
        if args.contains(&"--json") && r.code != 2 {
            serde_json::from_str::<serde_json::Value>(&r.stdout)
                .unwrap_or_else(|e| panic!("{what}: {args:?}: invalid JSON ({e})"));
        }
    }
    guard.assert();
}

#[test]
fn mutated_samples_never_break_any_command() {
    let start = Instant::now();
    let (mut in_process, mut binary) = (0, 0);
    for (k, sample) in SAMPLES.iter().enumerate() {
        let base = load(sample);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (k as u64 + 1));
        for i in 0..150 {
            let (what, s) = mutate(&base, &mut rng);
            let label = format!("{sample} #{i}: {what}");
            let t = Instant::now();
            exercise(&s);
            assert!(t.elapsed() < Duration::from_secs(10), "{label}: took {:?}", t.elapsed());
            in_process += 1;
            if i % 15 == 0 {
                let d = tempdir();
                for (suffix, bytes) in [("", &s.db), ("-wal", &s.wal), ("-shm", &s.shm)] {
                    if !bytes.is_empty() || suffix.is_empty() {
                        std::fs::write(sibling(&d.path().join("app.db"), suffix), bytes).unwrap();
                    }
                }
                every_command(d.path(), &label);
                binary += 1;
            }
        }
    }
    eprintln!(
        "{in_process} mutations in process, {binary} through all 12 commands, in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}
