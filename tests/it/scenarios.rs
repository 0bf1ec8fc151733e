//! Real SQLite states, damaged deliberately; our answers compared with SQLite's own recovery on
//! copies, and the findings each state must raise (exactly those codes).

use std::fs;
use std::path::Path;

use crate::support::common::*;
use serde_json::Value;

/// Compare dump's WAL facts with SQLite's recovery of a copy.
fn agrees_with_sqlite(db: &Path, v: &Value) {
    let verdict = sqlite_verdict(db).expect("SQLite opens the copy");
    let wal = &v["wal"];
    assert_eq!(wal["valid_frames"].as_i64().unwrap(), verdict.mx_frame, "mxFrame vs SQLite wal_checkpoint");
    assert_eq!(wal["valid_frames"].as_u64().unwrap(), u64::from(verdict.shm_mx_frame), "mxFrame vs recovered -shm");
    assert_eq!(wal["db_pages"].as_u64().unwrap(), u64::from(verdict.shm_db_pages), "nPage vs recovered -shm");
    if wal["header_accepted"].as_bool().unwrap() {
        let h = &wal["header"];
        assert_eq!(
            [h["salt1"].as_u64().unwrap() as u32, h["salt2"].as_u64().unwrap() as u32],
            verdict.shm_salts,
            "salts"
        );
    }
    if let Some(ps) = v["database"]["header"]["page_size"].as_i64() {
        assert_eq!(ps, verdict.page_size, "page size");
    }
}

/// A WAL database with `n` single-row commits, copied (db, -wal, -shm) while its writer is open:
/// the temporary directory (keep it alive) and the copy's database path.
fn committed_state(page_size: u32, n: usize) -> (TempDir, std::path::PathBuf) {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, page_size);
    commits(&c, n);
    let ev = snapshot(&db, d.path(), "ev.db");
    (d, ev)
}

fn frames_states(v: &Value) -> Vec<String> {
    v["wal"]["frames"].as_array().unwrap().iter().map(|f| f["state"].as_str().unwrap().to_string()).collect()
}

fn count(v: &Value, state: &str) -> usize {
    frames_states(v).iter().filter(|s| *s == state).count()
}

#[test]
fn several_commits() {
    let (_d, ev) = committed_state(4096, 20);
    let (code, v) = dump(&ev);
    assert_eq!(code, 0);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["schema"], "walinspect.dump");
    assert_eq!(v["version"], 1);
    let w = &v["wal"];
    assert_eq!(w["commits"].as_array().unwrap().len(), 21); // CREATE TABLE + 20 inserts
    assert_eq!(w["valid_frames"], w["chain_valid_frames"]);
    assert_eq!(w["first_invalid"], Value::Null);
    assert_eq!(count(&v, "committed"), w["frames_total"].as_u64().unwrap() as usize);
    assert_eq!(w["header"]["checksum_order"], "little");
    assert!(v["shm"]["index"]["consistent"].as_bool().unwrap());
    assert_eq!(v["shm"]["headers"][0]["mx_frame"], w["valid_frames"]);
    assert_eq!(codes(&v), Vec::<String>::new());
    // The frame list agrees with the commit list.
    for cm in w["commits"].as_array().unwrap() {
        let f = &w["frames"][cm["frame"].as_u64().unwrap() as usize - 1];
        assert_eq!(f["commit_db_pages"], cm["db_pages"]);
    }
}

#[test]
fn writer_killed_mid_transaction_with_cache_spill() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 4096);
    commits(&c, 3);
    c.execute_batch("PRAGMA cache_size=2; BEGIN;").unwrap();
    for i in 0..400 {
        c.execute("INSERT INTO t(v) VALUES (?1)", [format!("{i}{}", "y".repeat(300))]).unwrap();
    }
    // The files as a crash would leave them: spilled frames, no commit.
    let ev = snapshot(&db, d.path(), "ev.db");
    c.execute_batch("ROLLBACK").unwrap();
    let (code, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    let w = &v["wal"];
    assert!(w["chain_valid_frames"].as_u64() > w["valid_frames"].as_u64(), "spilled frames are valid but uncommitted");
    assert!(count(&v, "uncommitted") > 0);
    assert_eq!(codes(&v), vec!["wal.uncommitted_frames"]);
    assert_eq!(code, 0, "uncommitted frames are a warning");
    // The live -shm does not know the spilled frames: its mxFrame is the last commit.
    assert_eq!(v["shm"]["headers"][0]["mx_frame"], w["valid_frames"]);
}

#[test]
fn torn_last_frame() {
    let (_d, ev) = committed_state(4096, 5);
    let wal = sibling(&ev, "-wal");
    let len = fs::metadata(&wal).unwrap().len();
    fs::OpenOptions::new().write(true).open(&wal).unwrap().set_len(len - 1000).unwrap();
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["wal"]["trailing_bytes"].as_u64().unwrap(), 4120 - 1000);
    assert_eq!(v["shm"], Value::Null);
    assert_eq!(codes(&v), vec!["wal.torn_frame"]);
}

#[test]
fn flipped_byte_in_middle_frame() {
    let (_d, ev) = committed_state(4096, 10);
    let wal = sibling(&ev, "-wal");
    patch(&wal, |b| {
        let o = frame_off(b, 5) + 24 + 2000;
        b[o] ^= 0x40;
    });
    let (code, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    let w = &v["wal"];
    assert_eq!(w["first_invalid"]["frame"], 5);
    assert_eq!(w["first_invalid"]["reason"], "checksum_mismatch");
    assert_eq!(w["chain_valid_frames"], 4);
    // Per-link checks: only frame 5 fails; frames after it still chain among themselves.
    let frames = w["frames"].as_array().unwrap();
    assert_eq!(frames[4]["checksum_valid"], false);
    assert!(frames[5..].iter().all(|f| f["checksum_valid"] == true));
    assert!(frames[4..].iter().all(|f| f["state"] == "invalid"));
    // The live -shm still indexes the lost frames: it is ahead of what SQLite now recovers.
    assert_eq!(codes(&v), vec!["shm.ahead", "wal.checksum_mismatch"]);
    assert_eq!(code, 1, "committed data lost is an error");
}

#[test]
fn frame_with_foreign_salts() {
    let (_d, ev) = committed_state(4096, 8);
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    patch(&sibling(&ev, "-wal"), |b| {
        let o = frame_off(b, 3);
        b[o + 8..o + 16].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78]);
    });
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["wal"]["first_invalid"]["reason"], "salt_mismatch");
    assert_eq!(v["wal"]["first_invalid"]["frame"], 3);
    assert_eq!(v["wal"]["frames"][2]["salt_match"], false);
    assert_eq!(v["wal"]["frames"][2]["state"], "invalid");
    assert_eq!(codes(&v), vec!["wal.salt_mismatch"]);
}

#[test]
fn wal_restart_leaves_older_generation() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 4096);
    commits(&c, 30);
    let (_, log, done): (i64, i64, i64) =
        c.query_row("PRAGMA wal_checkpoint", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!(log, done);
    commits(&c, 3); // the first write after a full checkpoint resets the WAL
    let ev = snapshot(&db, d.path(), "ev.db");
    let (code, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    let w = &v["wal"];
    assert_eq!(w["header"]["checkpoint_seq"], 1);
    assert_eq!(w["valid_frames"], 3);
    assert_eq!(w["first_invalid"]["reason"], "salt_mismatch");
    let stale = count(&v, "stale");
    assert_eq!(stale as u64, w["frames_total"].as_u64().unwrap() - 3);
    assert!(
        w["frames"].as_array().unwrap().iter().filter(|f| f["state"] == "stale").all(|f| f["generations_ago"] == 1)
    );
    assert_eq!(codes(&v), vec!["wal.stale_frames"]);
    assert_eq!(code, 0);
}

#[test]
fn three_generations() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 1024);
    commits(&c, 40);
    c.query_row("PRAGMA wal_checkpoint", [], |_| Ok(())).unwrap();
    commits(&c, 20);
    c.query_row("PRAGMA wal_checkpoint", [], |_| Ok(())).unwrap();
    commits(&c, 5);
    let ev = snapshot(&db, d.path(), "ev.db");
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    let mut gens: Vec<u64> =
        v["wal"]["frames"].as_array().unwrap().iter().filter_map(|f| f["generations_ago"].as_u64()).collect();
    gens.dedup();
    assert_eq!(gens, vec![1, 2]);
    assert_eq!(v["wal"]["header"]["checkpoint_seq"], 2);
}

#[test]
fn big_endian_checksums() {
    let (_d, ev) = committed_state(4096, 6);
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    patch(&sibling(&ev, "-wal"), |b| rewrite_big_endian(b));
    let (code, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["wal"]["header"]["checksum_order"], "big");
    assert_eq!(v["wal"]["header"]["magic"], 0x377f0683u32);
    assert_eq!(v["wal"]["valid_frames"], v["wal"]["frames_total"]);
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(code, 0);
    // The same file with the magic of little-endian words is ignored as a whole.
    patch(&sibling(&ev, "-wal"), |b| {
        b[3] = 0x82;
    });
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["wal"]["header_accepted"], false);
    assert_eq!(codes(&v), vec!["wal.bad_header_checksum"]);
}

#[test]
fn page_sizes_512_and_65536() {
    for ps in [512u32, 65536] {
        let d = tempdir();
        let db = d.path().join("live.db");
        let c = wal_db(&db, ps);
        commits(&c, 12);
        let ev = snapshot(&db, d.path(), "ev.db");
        let (code, v) = dump(&ev);
        agrees_with_sqlite(&ev, &v);
        assert_eq!(v["database"]["header"]["page_size"], ps);
        assert_eq!(v["wal"]["header"]["page_size"], ps);
        assert_eq!(v["shm"]["headers"][0]["page_size"], ps);
        if ps == 65536 {
            assert_eq!(v["database"]["header"]["page_size_raw"], 1);
            assert_eq!(v["shm"]["headers"][0]["page_size_raw"], 1);
        }
        assert_eq!(codes(&v), Vec::<String>::new(), "page size {ps}");
        assert_eq!(code, 0);
    }
}

#[test]
fn more_than_8200_frames_three_segments() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 512);
    c.execute_batch("PRAGMA synchronous=OFF; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);").unwrap();
    let wal = sibling(&db, "-wal");
    let mut i = 0;
    while fs::metadata(&wal).unwrap().len() < 32 + 8400 * (512 + 24) {
        c.execute_batch("BEGIN").unwrap();
        for _ in 0..5 {
            c.execute("INSERT INTO t(v) VALUES (?1)", [format!("{i:0>200}")]).unwrap();
            i += 1;
        }
        c.execute_batch("COMMIT").unwrap();
    }
    let ev = snapshot(&db, d.path(), "ev.db");
    let (code, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert!(v["wal"]["valid_frames"].as_u64().unwrap() > 8200);
    assert_eq!(v["shm"]["segment_count"], 3);
    assert!(v["shm"]["index"]["consistent"].as_bool().unwrap());
    assert_eq!(v["shm"]["segments"][2]["first_frame"], 4062 + 4096 + 1);
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(code, 0);
    // Our index equals the one SQLite's recovery builds, entry for entry.
    let verdict = sqlite_verdict(&ev).unwrap();
    let ours = fs::read(sibling(&ev, "-shm")).unwrap();
    assert_eq!(ours[136..3 * 32768], verdict.shm[136..3 * 32768], "hash segments equal SQLite's recovery");
}

#[test]
fn differing_shm_header_copies() {
    let (_d, ev) = committed_state(4096, 4);
    // Copy 1 as a writer leaves it when it dies between writing copy 1 and copy 0: one more
    // change, valid checksum.
    patch(&sibling(&ev, "-shm"), |b| {
        let change = u32::from_le_bytes(b[56..60].try_into().unwrap()) + 1;
        b[56..60].copy_from_slice(&change.to_le_bytes());
        let ck = cksum(false, &b[48..88], [0, 0]);
        b[88..92].copy_from_slice(&ck[0].to_le_bytes());
        b[92..96].copy_from_slice(&ck[1].to_le_bytes());
    });
    let (_, v) = dump(&ev);
    assert_eq!(v["shm"]["headers_identical"], false);
    assert_eq!(v["shm"]["headers"][1]["checksum_valid"], true);
    assert_eq!(codes(&v), vec!["shm.header_copies_differ"]);
    // And with a broken checksum in copy 0.
    patch(&sibling(&ev, "-shm"), |b| b[40] ^= 1);
    let (_, v) = dump(&ev);
    assert_eq!(v["shm"]["headers"][0]["checksum_valid"], false);
    assert_eq!(codes(&v), vec!["shm.bad_header_checksum", "shm.header_copies_differ"]);
}

#[test]
fn shm_from_an_earlier_generation() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 4096);
    commits(&c, 10);
    let old = snapshot(&db, d.path(), "old.db");
    c.query_row("PRAGMA wal_checkpoint", [], |_| Ok(())).unwrap();
    commits(&c, 2);
    let ev = snapshot(&db, d.path(), "ev.db");
    fs::copy(sibling(&old, "-shm"), sibling(&ev, "-shm")).unwrap();
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_ne!(v["shm"]["headers"][0]["salt1"], v["wal"]["header"]["salt1"]);
    assert_eq!(codes(&v), vec!["shm.stale", "wal.stale_frames"]);
}

#[test]
fn reserved_bytes_per_page() {
    let d = tempdir();
    let db = d.path().join("live.db");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut n: std::os::raw::c_int = 8;
        // SQLITE_FCNTL_RESERVE_BYTES = 38, then VACUUM rebuilds with the reserve.
        // SAFETY: a valid open handle, the "main" schema, and a pointer to an int, as
        // SQLITE_FCNTL_RESERVE_BYTES requires. (rusqlite has no safe call for it.)
        #[allow(unsafe_code)]
        let rc = unsafe {
            rusqlite::ffi::sqlite3_file_control(
                c.handle(),
                c"main".as_ptr(),
                38,
                (&mut n as *mut std::os::raw::c_int).cast(),
            )
        };
        assert_eq!(rc, 0);
        c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); VACUUM;").unwrap();
    }
    let c = wal_db(&db, 4096);
    commits(&c, 5);
    let ev = snapshot(&db, d.path(), "ev.db");
    let (code, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["database"]["header"]["reserved_bytes"], 8);
    assert_eq!(v["database"]["header"]["usable_size"], 4088);
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(code, 0);
}

#[test]
fn cleanly_closed_wal_database() {
    let d = tempdir();
    let db = d.path().join("live.db");
    {
        let c = wal_db(&db, 4096);
        commits(&c, 5);
    }
    assert!(!sibling(&db, "-wal").exists());
    let (code, v) = dump(&db);
    assert_eq!(v["wal"], Value::Null);
    assert_eq!(v["shm"], Value::Null);
    assert_eq!(v["database"]["header"]["journal_mode"], "wal");
    assert_eq!(v["files"]["wal"], Value::Null);
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(code, 0);
}

#[test]
fn rollback_mode_database() {
    let d = tempdir();
    let db = d.path().join("live.db");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        commits(&c, 3);
    }
    let (code, v) = dump(&db);
    assert_eq!(v["database"]["header"]["journal_mode"], "rollback");
    assert_eq!(v["database"]["header"]["write_version"], 1);
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(code, 0);
}

#[test]
fn rollback_header_with_a_wal() {
    let (_d, ev) = committed_state(4096, 3);
    patch(&ev, |b| {
        b[18] = 1;
        b[19] = 1;
    });
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(codes(&v), vec!["db.rollback_header_with_wal"]);
}

#[test]
fn page_zero_ends_the_chain() {
    let (_d, ev) = committed_state(4096, 6);
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    patch(&sibling(&ev, "-wal"), |b| {
        let o = frame_off(b, 4);
        b[o..o + 4].copy_from_slice(&[0, 0, 0, 0]);
    });
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["wal"]["first_invalid"]["reason"], "page_zero");
    assert_eq!(codes(&v), vec!["wal.page_zero"]);
}

#[test]
fn wal_of_only_its_header_and_garbage_wal() {
    let (_d, ev) = committed_state(4096, 3);
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    let wal = sibling(&ev, "-wal");
    let full = fs::read(&wal).unwrap();
    fs::write(&wal, &full[..32]).unwrap();
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["wal"]["frames_total"], 0);
    assert_eq!(codes(&v), vec!["wal.header_only"]);
    // Garbage of the same length as the real WAL.
    let garbage: Vec<u8> = (0..full.len()).map(|i| (i * 7919 % 251) as u8).collect();
    fs::write(&wal, &garbage).unwrap();
    let (code, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(v["wal"]["header_accepted"], false);
    assert_eq!(codes(&v), vec!["wal.bad_magic"]);
    assert_eq!(code, 1);
    // Empty.
    fs::write(&wal, b"").unwrap();
    let (_, v) = dump(&ev);
    assert_eq!(codes(&v), vec!["wal.empty"]);
    // A few bytes.
    fs::write(&wal, b"abc").unwrap();
    let (_, v) = dump(&ev);
    assert_eq!(codes(&v), vec!["wal.truncated_header"]);
}

#[test]
fn shm_of_random_bytes_or_tiny() {
    let (_d, ev) = committed_state(4096, 3);
    let shm = sibling(&ev, "-shm");
    let garbage: Vec<u8> = (0..32768u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    fs::write(&shm, &garbage).unwrap();
    let (_, v) = dump(&ev);
    let c = codes(&v);
    assert!(c.contains(&"shm.bad_header_checksum".to_string()), "{c:?}");
    assert!(c.iter().all(|x| x.starts_with("shm.")), "{c:?}");
    for content in [&b""[..], &b"\0\0\0"[..]] {
        fs::write(&shm, content).unwrap();
        let (_, v) = dump(&ev);
        assert_eq!(codes(&v), vec!["shm.not_initialized"]);
    }
}

#[test]
fn wal_without_database() {
    let (_d, ev) = committed_state(4096, 4);
    fs::remove_file(&ev).unwrap();
    let (_, v) = dump(&sibling(&ev, "-wal"));
    assert_eq!(v["database"], Value::Null);
    assert_eq!(v["wal"]["valid_frames"].as_u64().unwrap(), v["wal"]["frames_total"].as_u64().unwrap());
    assert_eq!(codes(&v), vec!["db.missing"]);
}

#[test]
fn shm_lagging_behind_the_wal() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 4096);
    commits(&c, 3);
    let old = snapshot(&db, d.path(), "old.db");
    commits(&c, 3);
    let ev = snapshot(&db, d.path(), "ev.db");
    fs::copy(sibling(&old, "-shm"), sibling(&ev, "-shm")).unwrap();
    let (_, v) = dump(&ev);
    assert_eq!(codes(&v), vec!["shm.lagging"]);
}

#[test]
fn readers_and_checkpoints_are_clean() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 4096);
    commits(&c, 5);
    // A reader holding a mark while more commits arrive, and a partial checkpoint.
    let r = rusqlite::Connection::open(&db).unwrap();
    r.execute_batch("BEGIN; SELECT count(*) FROM t;").unwrap();
    commits(&c, 5);
    let (_, log, done): (i64, i64, i64) =
        c.query_row("PRAGMA wal_checkpoint", [], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?))).unwrap();
    assert!(done < log, "partial checkpoint");
    let ev = snapshot(&db, d.path(), "partial.db");
    let (code, v) = dump(&ev);
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(code, 0);
    assert_eq!(v["shm"]["backfill"].as_i64().unwrap(), done);
    r.execute_batch("COMMIT").unwrap();
    // Full checkpoint.
    c.query_row("PRAGMA wal_checkpoint", [], |_| Ok(())).unwrap();
    let ev = snapshot(&db, d.path(), "full.db");
    let (_, v) = dump(&ev);
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(v["shm"]["backfill"], v["shm"]["headers"][0]["mx_frame"]);
}

#[test]
fn vacuum_that_shrinks_is_clean() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 1024);
    c.execute_batch("CREATE TABLE IF NOT EXISTS big(v); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<200) INSERT INTO big SELECT randomblob(900) FROM n;").unwrap();
    commits(&c, 5);
    c.execute_batch("DROP TABLE big; VACUUM;").unwrap();
    let ev = snapshot(&db, d.path(), "vacuum.db");
    let (_, v) = dump(&ev);
    agrees_with_sqlite(&ev, &v);
    assert_eq!(codes(&v), Vec::<String>::new());
}
