#!/usr/bin/env python3
"""Make the bundled sample states with a real SQLite (Python's sqlite3 module).

Each sample is a folder holding app.db, app.db-wal and app.db-shm as a running or crashed
application would leave them: the files are copied while the writing connection is still open
(closing the last connection checkpoints and deletes the WAL). Damage, where a sample has any,
is applied to the copies afterwards and described in samples/README.md.

Run from anywhere:  python3 samples/make-samples.py
Salts are random, so a re-run produces different bytes with the same structure.
"""
import os
import shutil
import sqlite3
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work")


def fresh(name):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def live_db():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    path = os.path.join(WORK, "app.db")
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA page_size=1024")
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("PRAGMA secure_delete=OFF")
    c.execute("CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, email TEXT, balance REAL)")
    c.execute("CREATE INDEX customer_email ON customer(email)")
    return path, c


def add_customers(c, start, n):
    for i in range(start, start + n):
        c.execute("BEGIN")
        c.execute("INSERT INTO customer(name, email, balance) VALUES (?, ?, ?)",
                  (f"Customer {i}", f"c{i}@example.com", i * 10.5))
        c.execute("COMMIT")


def copy_out(src, dst_dir):
    for s in ("", "-wal", "-shm"):
        if os.path.exists(src + s):
            shutil.copyfile(src + s, os.path.join(dst_dir, "app.db" + s))


def frame_offset(wal, i):
    ps = struct.unpack(">I", wal[8:12])[0]
    return 32 + (i - 1) * (ps + 24)


def main():
    # healthy: several commits, a reader holding a snapshot, a partial checkpoint.
    path, c = live_db()
    add_customers(c, 1, 12)
    r = sqlite3.connect(path, isolation_level=None)
    r.execute("BEGIN")
    r.execute("SELECT count(*) FROM customer").fetchall()
    add_customers(c, 13, 8)
    c.execute("UPDATE customer SET balance = balance + 1 WHERE id % 3 = 0")
    c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    copy_out(path, fresh("healthy"))
    r.execute("COMMIT")
    r.close()
    c.close()

    # crashed: a writer died inside a large transaction (spilled, uncommitted frames) and the
    # last frame it wrote is torn.
    path, c = live_db()
    add_customers(c, 1, 10)
    c.execute("PRAGMA cache_size=2")
    c.execute("BEGIN")
    for i in range(11, 60):
        c.execute("INSERT INTO customer(name, email, balance) VALUES (?, ?, ?)",
                  (f"Customer {i} " + "z" * 200, f"c{i}@example.com", i * 1.0))
    d = fresh("crashed")
    copy_out(path, d)
    c.execute("ROLLBACK")
    c.close()
    wal = os.path.join(d, "app.db-wal")
    size = os.path.getsize(wal)
    with open(wal, "r+b") as f:
        f.truncate(size - 700)

    # reset: the WAL was checkpointed and restarted twice; frames of the two earlier
    # generations remain after the current one's end (older versions of rows).
    path, c = live_db()
    add_customers(c, 1, 30)
    c.execute("PRAGMA wal_checkpoint").fetchall()
    c.execute("UPDATE customer SET email = 'changed@example.com' WHERE id <= 10")
    add_customers(c, 31, 5)
    c.execute("PRAGMA wal_checkpoint").fetchall()
    c.execute("DELETE FROM customer WHERE id = 7")
    copy_out(path, fresh("reset"))
    c.close()

    # damaged: one flipped byte in a committed frame's page, so SQLite drops that commit and
    # every later one; the -shm still indexes them.
    path, c = live_db()
    add_customers(c, 1, 15)
    d = fresh("damaged")
    copy_out(path, d)
    c.close()
    wal = os.path.join(d, "app.db-wal")
    with open(wal, "r+b") as f:
        data = bytearray(f.read())
        o = frame_offset(data, 9) + 24 + 500
        data[o] ^= 0x20
        f.seek(0)
        f.write(data)

    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
