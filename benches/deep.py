#!/usr/bin/env python3
"""`walinspect check --deep` against SQLite's `PRAGMA integrity_check`, side by side, one run.

usage: python3 benches/deep.py [--dir /tmp/deepbench] [--size-mib 256] [--runs 3]

1. Makes (once) a WAL-mode database with the sqlite3 shell, outside the repository: a rowid
   table with two indexes, a WITHOUT ROWID table with overflow values, deletions (a freelist),
   checkpointed, then a few thousand more commits left in the -wal (db + WAL ~ --size-mib).
2. Times, warm (one untimed run first), the median of --runs runs of:
   - `walinspect check --deep --no-live DB`   (Phase 1 of integrity_check, all cores; text)
   - the same with `--json` (the whole check document: every frame of the WAL, ~23 MB here)
   - `walinspect check --deep=full --no-live DB` (Phase 1 + Phase 2: the table scan and index
     look-ups, tables in parallel)
   - `sqlite3 COPY "PRAGMA integrity_check"` on a fresh copy of db + -wal (made before the
     clock starts): SQLite's Phase 1 and Phase 2 (index checks)
   - `sqlite3 COPY "PRAGMA quick_check"`: Phase 1 and Phase 2 without the index checks, the
     closest SQLite has to walinspect's structure level
   and checks that both say `ok`. Prints medians, peak memory (max RSS of the child) and ratios.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.join(ROOT, "target", "release", "walinspect")


def make(d, size_mib):
    db = os.path.join(d, "big.db")
    if os.path.exists(db):
        return db
    os.makedirs(d, exist_ok=True)
    rows = size_mib * 1024 * 1024 // 400
    sql = f"""
PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INTEGER);
CREATE INDEX ic ON t(c); CREATE INDEX ib ON t(b);
CREATE TABLE w(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<{rows})
  INSERT INTO t SELECT i, printf('%.*c', 40 + i % 80, 'x') || i, i * 7 % 100000 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<{max(rows // 200, 10)})
  INSERT INTO w SELECT printf('key%08d', i), zeroblob(9000) FROM n;
COMMIT;
DELETE FROM t WHERE a % 13 = 0;
PRAGMA wal_checkpoint(TRUNCATE);
"""
    later = "".join(f"UPDATE t SET b = b || 'u' WHERE a BETWEEN {i * 50} AND {i * 50 + 40};\n" for i in range(3000))
    p = subprocess.run(["sqlite3", db], input=sql + later + ".exit\n", text=True, capture_output=True)
    assert p.returncode == 0, p.stderr
    # The shell checkpoints and deletes the WAL on close: keep a copy taken while it was open.
    return db


def make_with_wal(d, size_mib):
    """db + -wal: the writer stays open while the files are copied."""
    ev = os.path.join(d, "ev.db")
    if os.path.exists(ev) and os.path.exists(ev + "-wal"):
        return ev
    import sqlite3
    base = make(d, size_mib)
    con = sqlite3.connect(base, isolation_level=None)
    con.execute("PRAGMA wal_autocheckpoint=0")
    for i in range(2000):
        con.execute("UPDATE t SET b = b || 'v' WHERE a BETWEEN ? AND ?", (i * 97, i * 97 + 30))
    shutil.copy(base, ev)
    shutil.copy(base + "-wal", ev + "-wal")
    con.close()
    return ev


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    return dt, p, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def fresh_copy(ev, d):
    c = os.path.join(d, "copy.db")
    for s in ["", "-wal", "-shm"]:
        if os.path.exists(c + s):
            os.remove(c + s)
    shutil.copy(ev, c)
    shutil.copy(ev + "-wal", c + "-wal")
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/deepbench")
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    ev = make_with_wal(a.dir, a.size_mib)
    size = os.path.getsize(ev) + os.path.getsize(ev + "-wal")
    print(f"state: {ev} db {os.path.getsize(ev) >> 20} MiB + wal {os.path.getsize(ev + '-wal') >> 20} MiB")
    res = {}
    runs = [
        ("walinspect check --deep", ["check", "--deep", "--no-live", ev], "    ok"),
        ("walinspect check --deep --json", ["check", "--deep", "--no-live", "--json", ev], '"ok"'),
        ("walinspect check --deep=full", ["check", "--deep=full", "--no-live", ev], "    ok"),
        ("sqlite3 integrity_check", "integrity_check", None),
        ("sqlite3 quick_check", "quick_check", None),
    ]
    for name, what, expect in runs:
        times = []
        for k in range(a.runs + 1):
            if isinstance(what, list):
                dt, p, _ = timed([BIN] + what)
                assert p.returncode in (0, 1), p.stderr
                assert expect in p.stdout, f"{name} did not say ok"
            else:
                c = fresh_copy(ev, a.dir)
                dt, p, _ = timed(["sqlite3", c, f"PRAGMA {what};"])
                assert p.stdout.strip() == "ok", p.stdout[:200]
            if k > 0:  # the first run warms the page cache
                times.append(dt)
        res[name] = statistics.median(times)
        print(f"{name:32} median {res[name]:.2f} s over {a.runs} runs ({size / res[name] / 2**20:.0f} MiB/s)")
    w = res["walinspect check --deep"]
    f = res["walinspect check --deep=full"]
    print(f"quick_check / check --deep:            {res['sqlite3 quick_check'] / w:.2f}x")
    print(f"integrity_check / check --deep:        {res['sqlite3 integrity_check'] / w:.2f}x")
    print(f"integrity_check / check --deep=full:   {res['sqlite3 integrity_check'] / f:.2f}x")
    print(f"peak RSS of any child: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss >> 10} MiB")


if __name__ == "__main__":
    main()
