#!/usr/bin/env python3
"""Carving of deleted records: walinspect beside sqlite-dissect, in one run, on the same files.

usage: python3 benches/carve-bench.py [--dir /tmp/carvebench] [--size-mib 1024]
                                      [--dissect-size-mib 8] [--dissect-timeout 600]
                                      [--dissect /tmp/venv-dissect/bin/sqlite_dissect]

1. Makes (once per size) a WAL-mode database with a real SQLite (`PRAGMA secure_delete=OFF`
   set explicitly): a table `msgs(id INTEGER PRIMARY KEY, sender TEXT, body TEXT, n INTEGER)`
   filled to SIZE MiB, checkpointed; every row with id % 50 == 3 deleted (scattered deletes:
   freeblocks), checkpointed; then, in the WAL, rows with id % 10 == 7 among the first 2,000
   deleted. Copied (db, -wal, -shm) while the writer is still open. Outside the repository.
2. Ground truth: the deleted rows' values follow from their id; a row counts as present when
   its distinctive body text is still in the database file (one regex pass over the file).
3. Times `walinspect salvage --json` (which carves every page image; the JSON `carving`
   section) and `sqlite_dissect -c -e sqlite` (carving on), each once, with peak memory (max RSS),
   and counts the present deleted rows each recovers with every value equal.
   sqlite-dissect runs on the smaller database only (--dissect-size-mib; on 1 GiB it would run
   for hours), walinspect on both.
"""
import argparse
import ast
import glob
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BODY = re.compile(rb"body-(\d{9})-[0-9a-f]{8}-")


def values(i):
    """The values of row `i` (deterministic, distinctive)."""
    h = (i * 2654435761) & 0xFFFFFFFF
    return (f"user{i % 977:04d}@example.org", f"body-{i:09d}-{h:08x}-" + "lorem ipsum " * (4 + i % 9), i * 31 + 7)


def make(d, size_mib):
    db = os.path.join(d, "big.db")
    if os.path.exists(db):
        return db
    os.makedirs(d, exist_ok=True)
    work = os.path.join(d, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    path = os.path.join(work, "big.db")
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA page_size=4096")
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("PRAGMA synchronous=OFF")
    c.execute("PRAGMA secure_delete=OFF")
    assert c.execute("PRAGMA secure_delete").fetchone()[0] == 0
    c.execute("CREATE TABLE msgs(id INTEGER PRIMARY KEY, sender TEXT, body TEXT, n INTEGER)")
    target = size_mib << 20
    i = 1
    while os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0) < target:
        c.execute("BEGIN")
        c.executemany("INSERT INTO msgs VALUES (?,?,?,?)", ((j, *values(j)) for j in range(i, i + 20000)))
        c.execute("COMMIT")
        i += 20000
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n = i - 1
    c.execute("BEGIN")
    c.execute("DELETE FROM msgs WHERE id % 50 = 3")
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.execute("BEGIN")
    c.execute("DELETE FROM msgs WHERE id % 10 = 7 AND id <= 2000")
    c.execute("COMMIT")
    for s in ("", "-wal", "-shm"):
        shutil.copyfile(path + s, os.path.join(d, "big.db" + s))
    c.close()
    shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(d, "rows"), "w") as f:
        f.write(str(n))
    return db


def present_deleted(db):
    """Ids of deleted (id % 50 == 3) rows whose body is still in the database file."""
    with open(db, "rb") as f:
        data = f.read()
    return {int(m.group(1)) for m in BODY.finditer(data) if int(m.group(1)) % 50 == 3}


def timed(cmd, timeout=None, stdout=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        rc = p.returncode
        out = p.stdout if stdout is None else None
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - t, None, "timeout"
    dt = time.monotonic() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return out, dt, (rss if rss > before else None), rc


def norm(v):
    """A value as text: sqlite-dissect 1.0.0 writes carved text as bytes (a BLOB in its SQLite
    export, the repr `b'...'` in its CSV), decoded here so both tools are compared on the values
    themselves."""
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return v
    if isinstance(v, str) and len(v) >= 3 and v[0] == "b" and v[1] in "'\"" and v[-1] == v[1]:
        try:
            return ast.literal_eval(v).decode("utf-8")
        except (ValueError, SyntaxError, UnicodeDecodeError):
            return v
    return v


def recovered(rows_values, truth_ids):
    """Ids whose (sender, body, n) a tool recovered exactly."""
    got = set()
    for vals in rows_values:
        vals = [norm(v) for v in vals]
        for v in vals:
            if isinstance(v, str):
                m = re.match(r"body-(\d{9})-", v)
                if m:
                    i = int(m.group(1))
                    want = values(i)
                    strs = [str(x) for x in vals]
                    if i in truth_ids and want[1] in vals and want[0] in strs and str(want[2]) in strs:
                        got.add(i)
    return got


def run_walinspect(db):
    exe = os.path.join(ROOT, "target", "release", "walinspect")
    if not os.path.exists(exe):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    out, dt, rss, rc = timed([exe, "salvage", db, "--json"])
    doc = json.loads(out)
    rows = [r["values"] for r in doc["carving"]["rows"] if r.get("table") in ("msgs", None)]
    return rows, dt, rss, doc["carving"]["summary"]


def run_dissect(exe, db, timeout):
    """sqlite-dissect with carving, exported as SQLite (its CSV export of 1.0.0 stops with an
    IndexError on an empty carved value); every row of every output table is read back."""
    outdir = db + ".dissect"
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    _, dt, rss, rc = timed([exe, db, "-c", "-e", "sqlite", "-d", outdir], timeout=timeout, stdout=subprocess.DEVNULL)
    rows = []
    for f in glob.glob(os.path.join(outdir, "*.db3")):
        c = sqlite3.connect(f)
        for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            rows.extend(list(r) for r in c.execute(f'SELECT * FROM "{name}"'))
        c.close()
    return rows, dt, rss, rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/carvebench")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--dissect-size-mib", type=int, default=8)
    ap.add_argument("--dissect-timeout", type=int, default=600)
    ap.add_argument("--dissect", default="/tmp/venv-dissect/bin/sqlite_dissect")
    a = ap.parse_args()
    for size, with_dissect in ((a.dissect_size_mib, True), (a.size_mib, False)):
        d = os.path.join(a.dir, f"{size}mib")
        t = time.monotonic()
        db = make(d, size)
        made = time.monotonic() - t
        truth = present_deleted(db)
        mb = (os.path.getsize(db) + os.path.getsize(db + "-wal")) / (1 << 20)
        print(f"== {size} MiB target: db+wal {mb:.0f} MiB (made in {made:.0f} s); deleted rows present in the file: {len(truth)}")
        rows, dt, rss, summary = run_walinspect(db)
        got = recovered(rows, truth)
        print(f"walinspect salvage (carving): {dt:.2f} s, max RSS {rss or 0} KiB, recovered {len(got)}/{len(truth)} "
              f"({100.0 * len(got) / max(1, len(truth)):.1f}%); carved rows {summary['rows']}, page images {summary['page_images']}")
        if with_dissect and os.path.exists(a.dissect):
            drows, ddt, drss, rc = run_dissect(a.dissect, db, a.dissect_timeout)
            if rc == "timeout":
                print(f"sqlite-dissect -c: did not finish in {a.dissect_timeout} s")
            else:
                dgot = recovered(drows, truth)
                print(f"sqlite-dissect -c (rc {rc}): {ddt:.2f} s, max RSS {drss or 0} KiB, recovered {len(dgot)}/{len(truth)} "
                      f"({100.0 * len(dgot) / max(1, len(truth)):.1f}%)")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
