#!/usr/bin/env python3
"""Make an update-heavy WAL-mode database state with a real SQLite, for the extract benchmark
(outside the repo): a table of about PAGES pages, then small commits that rewrite random rows
until the WAL reaches SIZE_MIB. This is the shape of a busy app's database between checkpoints
(many versions of the same few thousand pages), the one `extract` must beat `sqlite3 .backup`
on by the widest margin.

usage: python3 benches/make-update-wal.py OUT_DIR SIZE_MIB [PAGES]

Writes OUT_DIR/upd.db, upd.db-wal and upd.db-shm, copied while the writer is still open.
"""
import os
import random
import shutil
import sqlite3
import sys

out, size_mib = sys.argv[1], int(sys.argv[2])
pages = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
os.makedirs(out, exist_ok=True)
work = os.path.join(out, "work-upd")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
path = os.path.join(work, "upd.db")
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA page_size=4096")
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
rows = pages * 6  # about six 600-byte rows a page
c.execute("BEGIN")
for i in range(rows):
    c.execute("INSERT INTO t(id, v) VALUES (?, randomblob(600))", (i,))
c.execute("COMMIT")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rng = random.Random(7)
target = size_mib << 20
wal = path + "-wal"
commits = 0
while not os.path.exists(wal) or os.path.getsize(wal) < target:
    c.execute("BEGIN")
    for _ in range(5):
        c.execute("UPDATE t SET v = randomblob(600) WHERE id = ?", (rng.randrange(rows),))
    c.execute("COMMIT")
    commits += 1
for s in ("", "-wal", "-shm"):
    shutil.copyfile(path + s, os.path.join(out, "upd.db" + s))
c.close()
shutil.rmtree(work, ignore_errors=True)
print(f"{out}/upd.db-wal: {os.path.getsize(os.path.join(out, 'upd.db-wal'))} bytes, {commits} commits")
