//! Hostile input never panics, hangs or allocates without bound: every sample truncated at
//! many lengths and with single-bit flips in every header byte, analysed, checked, rendered.

use walinspect::analysis::{self, Inputs, ReadAt, findings};
use walinspect::present::text;
use walinspect::report::{DumpReport, Files};

struct State {
    db: Vec<u8>,
    wal: Vec<u8>,
    shm: Vec<u8>,
}

fn load(name: &str) -> State {
    let dir = std::path::Path::new("samples").join(name);
    let r = |f: &str| std::fs::read(dir.join(f)).unwrap();
    State { db: r("app.db"), wal: r("app.db-wal"), shm: r("app.db-shm") }
}

/// Analyse, check, build the report, serialise and render it: every code path that input
/// reaches.
fn exercise(db: Option<&[u8]>, wal: Option<&[u8]>, shm: Option<&[u8]>) {
    let (db, wal, shm) = (db.map(<[u8]>::to_vec), wal.map(<[u8]>::to_vec), shm.map(<[u8]>::to_vec));
    fn r(b: &Option<Vec<u8>>) -> Option<(&dyn ReadAt, u64)> {
        b.as_ref().map(|b| (b as &dyn ReadAt, b.len() as u64))
    }
    let a = analysis::analyze(&Inputs { db: r(&db), wal: r(&wal), shm: r(&shm) });
    let f = findings::check(&a);
    let files = Files { db: None, wal: None, shm: None };
    let rep = DumpReport::build("walinspect.dump", files, &a, &f);
    let json = serde_json::to_string(&rep).unwrap();
    assert!(json.len() < 50 << 20);
    let _ = text::render_dump(&rep, text::Style { color: true });
    if let Some(w) = &a.wal {
        assert!(w.frames.len() as u64 <= w.file_len / 536 + 1, "frames bounded by file size");
        assert!(w.valid_frames <= w.chain_valid_frames);
    }
}

/// Every length through the headers, every length around each frame/segment boundary, and a
/// stride through the rest.
fn lengths(len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..len.min(140)).collect();
    for base in (32..len).step_by(1048).chain((0..len).step_by(32768)) {
        v.extend([base.saturating_sub(1), base, base + 1, base + 8, base + 23, base + 24, base + 25]);
    }
    v.extend((140..len).step_by(211));
    v.push(len);
    v.retain(|&n| n <= len);
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn it_does_not_panic_on_truncation_at_any_length() {
    for name in ["healthy", "crashed", "reset", "damaged"] {
        let s = load(name);
        for n in lengths(s.wal.len()) {
            exercise(Some(&s.db), Some(&s.wal[..n]), Some(&s.shm));
        }
        for n in lengths(s.shm.len()) {
            exercise(Some(&s.db), Some(&s.wal), Some(&s.shm[..n]));
        }
        for n in lengths(s.db.len()) {
            exercise(Some(&s.db[..n]), Some(&s.wal), None);
        }
    }
}

#[test]
fn it_does_not_panic_on_bit_flips_in_headers() {
    let s = load("reset");
    let ps = 1024 + 24;
    let mut wal_offsets: Vec<usize> = (0..32).collect();
    for f in 0..4 {
        wal_offsets.extend((0..24).map(|i| 32 + f * ps + i));
    }
    for &o in &wal_offsets {
        for bit in 0..8 {
            let mut w = s.wal.clone();
            w[o] ^= 1 << bit;
            exercise(Some(&s.db), Some(&w), Some(&s.shm));
        }
    }
    for o in 0..136 {
        for bit in 0..8 {
            let mut m = s.shm.clone();
            m[o] ^= 1 << bit;
            exercise(Some(&s.db), Some(&s.wal), Some(&m));
        }
    }
    for o in 0..108 {
        for bit in 0..8 {
            let mut d = s.db.clone();
            d[o] ^= 1 << bit;
            exercise(Some(&d), Some(&s.wal), Some(&s.shm));
        }
    }
}

#[test]
fn it_does_not_panic_on_random_or_extreme_input() {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut rnd = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    for n in [0, 1, 31, 32, 33, 100, 136, 4096, 40000] {
        let (a, b, c) = (rnd(n), rnd(n), rnd(n));
        exercise(Some(&a), Some(&b), Some(&c));
        exercise(None, Some(&b), None);
        exercise(None, None, Some(&c));
    }
    // A WAL header claiming the smallest page size, and hash tables full of probes.
    let mut wal = vec![0u8; 32];
    wal[..4].copy_from_slice(&0x377f0682u32.to_be_bytes());
    wal[8..12].copy_from_slice(&512u32.to_be_bytes());
    wal.extend(rnd(536 * 50));
    let shm: Vec<u8> = vec![0xff; 3 * 32768];
    exercise(None, Some(&wal), Some(&shm));
}
