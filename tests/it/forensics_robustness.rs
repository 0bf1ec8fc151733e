//! Hostile input never panics, hangs or allocates without bound: random pages and records,
//! every truncation of real pages and records, bit flips, cyclic overflow chains, cyclic
//! b-trees and freelists, and whole databases with damaged pages run through ownership,
//! timeline, history and salvage.

use std::time::{Duration, Instant};

use crate::support::forensics::*;
use walinspect::analysis::{Inputs, ReadAt, analyze};
use walinspect::forensics::history::{KeySpec, history};
use walinspect::forensics::ownership::{Ownership, page_cells};
use walinspect::forensics::salvage::salvage;
use walinspect::forensics::schema::parse_create_table;
use walinspect::forensics::snapshot::Forensics;
use walinspect::forensics::timeline::{TrackOptions, timeline};
use walinspect::forensics::walk::Budget;
use walinspect::format::btree::BtreePage;
use walinspect::format::freelist::FreelistTrunk;
use walinspect::format::record::{TextEncoding, decode_record};
use walinspect::format::varint::read_varint;

/// Decode everything a page offers: cells, children, freeblocks, records, display cells.
fn exercise_page(data: &[u8], page_no: u32, usable: u32) {
    for enc in [TextEncoding::Utf8, TextEncoding::Utf16le, TextEncoding::Utf16be] {
        let _ = page_cells(data, page_no, usable, enc);
    }
    if let Ok(b) = BtreePage::parse(data, page_no == 1, usable) {
        let _ = b.children();
        let _ = b.freeblocks();
        for c in b.cells().flatten() {
            let _ = decode_record(c.local, TextEncoding::Utf8);
            let _ = decode_record(c.local, TextEncoding::Utf16be);
        }
    }
    let _ = FreelistTrunk::parse_lenient(data, usable);
}

/// A small real database (1 KiB pages) with several b-trees, overflow and an index.
fn real_db() -> (Fixture, std::path::PathBuf) {
    let mut fx = Fixture::new(1024);
    fx.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB); CREATE INDEX ta ON t(a);
           CREATE TABLE w(k, v, PRIMARY KEY(k)) WITHOUT ROWID;");
    let mut sql = String::new();
    for i in 0..120 {
        sql.push_str(&format!(
            "INSERT INTO t VALUES({i}, 'text{i}', zeroblob({}));",
            if i % 10 == 0 { 3000 } else { 20 }
        ));
        sql.push_str(&format!("INSERT INTO w VALUES('k{i}', {i});"));
    }
    fx.tx(&sql);
    fx.checkpoint_truncate();
    fx.tx("UPDATE t SET a = a || '!' WHERE id % 7 = 0; DELETE FROM w WHERE v % 5 = 0");
    fx.tx("INSERT INTO t VALUES(500, 'late', zeroblob(5000))");
    let ev = fx.evidence("ev");
    (fx, ev)
}

#[test]
fn random_pages_and_records_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let size = [512usize, 1024, 4096, 65536][round % 4];
        let n = if round % 3 == 0 { size } else { rng.below(size as u64 + 1) as usize };
        let mut page = rng.bytes(n);
        // Plausible headers half the time, so the cell code runs.
        if round % 2 == 0 && page.len() > 12 {
            page[0] = [2u8, 5, 10, 13][rng.below(4) as usize];
            page[3] = 0;
            page[4] = rng.below(40) as u8;
        }
        let usable = size as u32 - rng.below(40) as u32;
        exercise_page(&page, 1 + rng.below(3) as u32, usable);
        let n = rng.below(300) as usize;
        let rec = rng.bytes(n);
        let _ = decode_record(&rec, TextEncoding::Utf16le);
        let _ = read_varint(&rec, rng.below(10) as usize);
    }
}

#[test]
fn every_truncation_and_bit_flip_of_real_pages_is_safe() {
    let (_fx, ev) = real_db();
    let db = std::fs::read(&ev).unwrap();
    let wal = std::fs::read(format!("{}-wal", ev.display())).unwrap();
    let mut pages: Vec<(u32, Vec<u8>)> = db.chunks(1024).enumerate().map(|(i, c)| (i as u32 + 1, c.to_vec())).collect();
    for (i, f) in wal[32..].chunks(1048).enumerate() {
        if f.len() == 1048 {
            pages.push((u32::from_be_bytes(f[..4].try_into().unwrap()), f[24..].to_vec()));
            let _ = i;
        }
    }
    let start = Instant::now();
    for (no, p) in &pages {
        for len in 0..=p.len() {
            exercise_page(&p[..len], *no, 1024);
        }
        for byte in 0..p.len().min(160) {
            let mut q = p.clone();
            q[byte] ^= 0x5a;
            exercise_page(&q, *no, 1024);
        }
    }
    // Records: every truncation of every real cell payload.
    for (no, p) in &pages {
        if let Ok(b) = BtreePage::parse(p, *no == 1, 1024) {
            for c in b.cells().flatten() {
                for len in 0..=c.local.len() {
                    let _ = decode_record(&c.local[..len], TextEncoding::Utf8);
                }
            }
        }
    }
    assert!(start.elapsed() < Duration::from_secs(120));
}

#[test]
fn schema_parser_survives_garbage_and_truncation() {
    let sqls = [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT DEFAULT 'x''y', b REAL CHECK(b > 0), c AS (a || b) STORED, CONSTRAINT k UNIQUE(a))",
        "CREATE TABLE \"q\"\"t\" ([a] int, `b` text collate nocase, PRIMARY KEY(b, a)) WITHOUT ROWID, STRICT",
    ];
    for s in sqls {
        for i in 0..=s.len() {
            if s.is_char_boundary(i) {
                let _ = parse_create_table("t", &s[..i]);
            }
        }
    }
    let mut rng = Rng(7);
    let alphabet = b"CREATE TABLE ( ) , \" ' ` [ ] -- /* */ PRIMARY KEY INTEGER WITHOUT ROWID a b DEFAULT 1 AS";
    for _ in 0..2000 {
        let s: String =
            (0..rng.below(80)).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char).collect();
        let _ = parse_create_table("t", &s);
    }
}

/// Run every forensic analysis over in-memory files; must finish and not panic.
fn run_all(db: &[u8], wal: &[u8]) -> Vec<&'static str> {
    let db_v = db.to_vec();
    let wal_v = wal.to_vec();
    let a = analyze(&Inputs {
        db: Some((&db_v as &dyn ReadAt, db_v.len() as u64)),
        wal: Some((&wal_v as &dyn ReadAt, wal_v.len() as u64)),
        shm: None,
    });
    let Ok(fx) = Forensics::new(
        &a,
        Some((&db_v as &dyn ReadAt, db_v.len() as u64)),
        Some((&wal_v as &dyn ReadAt, wal_v.len() as u64)),
    ) else {
        return Vec::new();
    };
    let mut codes = Vec::new();
    let own = Ownership::build(&fx.snapshot(fx.latest()), &mut Budget::new(1_000_000));
    codes.extend(own.notes.iter().map(|n| n.code.as_str()));
    let (base, changes, _) = timeline(&fx, TrackOptions { rows: true, budget: 5_000_000, ..Default::default() });
    codes.extend(base.iter().map(|n| n.code.as_str()));
    for c in &changes {
        codes.extend(c.notes.iter().map(|n| n.code.as_str()));
    }
    let _ = history(&fx, "t", &KeySpec::Rowid(10));
    let _ = history(&fx, "w", &KeySpec::Pk(vec!["k3".into()]));
    let s = salvage(&fx);
    codes.extend(s.notes.iter().map(|n| n.code.as_str()));
    codes
}

#[test]
fn damaged_databases_give_notes_not_panics() {
    let (_fx, ev) = real_db();
    let db = std::fs::read(&ev).unwrap();
    let wal = std::fs::read(format!("{}-wal", ev.display())).unwrap();
    assert!(run_all(&db, &wal).is_empty(), "the undamaged database has no notes");
    let mut rng = Rng(42);
    let start = Instant::now();
    for round in 0..60 {
        let mut d = db.clone();
        let mut w = wal.clone();
        for _ in 0..(1 + rng.below(20)) {
            if rng.below(2) == 0 {
                let i = rng.below(d.len() as u64) as usize;
                d[i] = rng.next() as u8;
            } else {
                let i = rng.below(w.len() as u64) as usize;
                w[i] = rng.next() as u8;
            }
        }
        if round % 10 == 0 {
            d.truncate(rng.below(d.len() as u64) as usize);
        }
        let _ = run_all(&d, &w);
    }
    assert!(start.elapsed() < Duration::from_secs(240), "took {:?}", start.elapsed());
}

fn page_of(b: &mut [u8], p: u32) -> &mut [u8] {
    &mut b[(p as usize - 1) * 1024..p as usize * 1024]
}

#[test]
fn cycles_in_overflow_chains_btrees_and_freelists_are_notes() {
    // A database file only (no WAL): a table with one overflow row, a two-level b-tree, and a
    // freelist.
    let mut fx = Fixture::new(1024);
    let mut sql =
        String::from("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t VALUES(1, zeroblob(6000));");
    for i in 2..200 {
        sql.push_str(&format!("INSERT INTO t VALUES({i}, zeroblob(30));"));
    }
    sql.push_str("CREATE TABLE gone(x); INSERT INTO gone VALUES(zeroblob(3000)); DROP TABLE gone;");
    fx.tx(&sql);
    fx.checkpoint_truncate();
    let ev = fx.evidence("ev");
    let db = std::fs::read(&ev).unwrap();
    let wal: Vec<u8> = Vec::new();
    let a = analyze(&Inputs { db: Some((&db as &dyn ReadAt, db.len() as u64)), wal: None, shm: None });
    let fx0 = Forensics::new(&a, Some((&db as &dyn ReadAt, db.len() as u64)), None).unwrap();
    let own = Ownership::build(&fx0.snapshot(fx0.latest()), &mut Budget::default());
    assert!(own.notes.is_empty(), "{:?}", own.notes);
    let overflow: Vec<u32> =
        (1..=own.db_pages).filter(|&p| own.describe(p).2.map(|r| r.as_str()) == Some("overflow")).collect();
    assert!(overflow.len() >= 4);
    let root = own.catalog.by_name("t").unwrap().root;
    let trunk = (1..=own.db_pages).find(|&p| own.describe(p).2.map(|r| r.as_str()) == Some("freelist_trunk")).unwrap();

    // 1. The last overflow page of the chain points back to the first: a cycle.
    let mut d = db.clone();
    let chain_first = *overflow.first().unwrap();
    let chain_last = overflow
        .iter()
        .copied()
        .filter(|&p| page_of(&mut d.clone(), p)[..4] == [0, 0, 0, 0])
        .find(|&p| p != chain_first)
        .unwrap();
    page_of(&mut d, chain_last)[..4].copy_from_slice(&chain_first.to_be_bytes());
    let codes = run_all(&d, &wal);
    assert!(codes.iter().any(|c| c.starts_with("overflow.")), "{codes:?}");
    // 2. An interior page points to the root: a b-tree cycle.
    let mut d = db.clone();
    page_of(&mut d, root)[8..12].copy_from_slice(&root.to_be_bytes());
    let codes = run_all(&d, &wal);
    assert!(codes.contains(&"btree.cycle"), "{codes:?}");
    // 3. A freelist trunk pointing to itself.
    let mut d = db.clone();
    page_of(&mut d, trunk)[..4].copy_from_slice(&trunk.to_be_bytes());
    let codes = run_all(&d, &wal);
    assert!(codes.contains(&"freelist.cycle"), "{codes:?}");
    // 4. A cell claiming an absurd payload length with an overflow pointer to itself.
    let mut d = db.clone();
    let leaf = (1..=own.db_pages)
        .find(|&p| own.describe(p).0 == "t" && own.describe(p).2.map(|r| r.as_str()) == Some("leaf"))
        .unwrap();
    let pg = page_of(&mut d, leaf);
    let ptr = u16::from_be_bytes([pg[8], pg[9]]) as usize;
    pg[ptr..ptr + 9].copy_from_slice(&[0xff; 9]);
    let start = Instant::now();
    let _ = run_all(&d, &wal);
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn damaged_pointer_map_entries_are_reported() {
    let mut fx = Fixture::with(1024, "PRAGMA auto_vacuum = FULL;");
    let mut sql = String::from("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);");
    for i in 0..60 {
        sql.push_str(&format!("INSERT INTO t VALUES({i}, zeroblob({}));", if i % 9 == 0 { 2500 } else { 40 }));
    }
    fx.tx(&sql);
    fx.checkpoint_truncate();
    let ev = fx.evidence("ev");
    let db = std::fs::read(&ev).unwrap();
    let build = |d: &Vec<u8>| {
        let a = analyze(&Inputs { db: Some((d as &dyn ReadAt, d.len() as u64)), wal: None, shm: None });
        let fx = Forensics::new(&a, Some((d as &dyn ReadAt, d.len() as u64)), None).unwrap();
        let own = Ownership::build(&fx.snapshot(fx.latest()), &mut Budget::default());
        (own.notes.iter().map(|n| n.code.as_str()).collect::<Vec<_>>(), own.describe(2).1.as_str())
    };
    assert_eq!(build(&db), (vec![], "ptrmap"));
    assert_eq!(&db[16..18], &[4, 0], "page size 1024");
    // Entry for page 5 (offset 5 * (5 - 2 - 1) = 10 on page 2): wrong parent.
    let mut d = db.clone();
    d[1024 + 10 + 4] ^= 0x7f;
    assert!(build(&d).0.contains(&"ptrmap.mismatch"));
}

/// Recompute every frame checksum from the header, as a writer would (so forged fields are
/// accepted by recovery).
fn rechain(wal: &mut [u8], page_size: usize) {
    use walinspect::format::wal::{WalHeader, frame_checksum};
    let h = WalHeader::parse(&wal[..32]).unwrap();
    let mut seed = h.stored_checksum();
    let flen = page_size + 24;
    let mut off = 32;
    while off + flen <= wal.len() {
        let c = frame_checksum(h.word_order(), seed, &wal[off..off + flen]);
        wal[off + 16..off + 20].copy_from_slice(&c[0].to_be_bytes());
        wal[off + 20..off + 24].copy_from_slice(&c[1].to_be_bytes());
        seed = c;
        off += flen;
    }
}

#[test]
fn forged_database_size_stays_bounded() {
    let mut fx = Fixture::with(1024, "PRAGMA auto_vacuum = FULL;");
    fx.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
    fx.checkpoint_truncate();
    fx.tx("INSERT INTO t VALUES(1, zeroblob(3000))");
    fx.tx("INSERT INTO t VALUES(2, 'x')");
    let ev = fx.evidence("ev");
    let db = std::fs::read(&ev).unwrap();
    let mut wal = std::fs::read(format!("{}-wal", ev.display())).unwrap();
    // Every commit frame now claims 0xfffffff0 pages; the checksums are recomputed.
    let mut off = 32;
    while off + 1048 <= wal.len() {
        if wal[off + 4..off + 8] != [0, 0, 0, 0] {
            wal[off + 4..off + 8].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        }
        off += 1048;
    }
    rechain(&mut wal, 1024);
    let start = Instant::now();
    let a = analyze(&Inputs {
        db: Some((&db as &dyn ReadAt, db.len() as u64)),
        wal: Some((&wal as &dyn ReadAt, wal.len() as u64)),
        shm: None,
    });
    assert_eq!(a.wal.as_ref().unwrap().db_pages, 0xffff_fff0, "recovery accepts the forged size");
    let _ = run_all(&db, &wal);
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
}
