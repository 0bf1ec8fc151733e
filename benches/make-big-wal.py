#!/usr/bin/env python3
"""Make a large WAL-mode database state with a real SQLite, for benchmarks (outside the repo).

usage: python3 benches/make-big-wal.py OUT_DIR SIZE_MIB [PAGE_SIZE]

Writes OUT_DIR/big.db, big.db-wal (about SIZE_MIB MiB, many commits of a few pages each) and
big.db-shm, copied while the writing connection is still open.
"""
import os
import shutil
import sqlite3
import sys

out, size_mib = sys.argv[1], int(sys.argv[2])
page_size = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
os.makedirs(out, exist_ok=True)
work = os.path.join(out, "work")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
path = os.path.join(work, "big.db")
c = sqlite3.connect(path, isolation_level=None)
c.execute(f"PRAGMA page_size={page_size}")
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("PRAGMA synchronous=OFF")
c.execute("PRAGMA cache_size=-65536")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v BLOB)")
c.execute("CREATE INDEX t_k ON t(k)")
target = size_mib << 20
wal = path + "-wal"
i = 0
while not os.path.exists(wal) or os.path.getsize(wal) < target:
    c.execute("BEGIN")
    for _ in range(25):
        c.execute("INSERT INTO t(k, v) VALUES (?, randomblob(600))", ((i * 7919) % 100003,))
        i += 1
    c.execute("COMMIT")
for s in ("", "-wal", "-shm"):
    shutil.copyfile(path + s, os.path.join(out, "big.db" + s))
c.close()
shutil.rmtree(work, ignore_errors=True)
print(f"{out}/big.db-wal: {os.path.getsize(os.path.join(out, 'big.db-wal'))} bytes, {i} rows")
