#!/usr/bin/env python3
"""`walinspect extract` against `sqlite3 .backup` from a fresh copy, side by side, on an
update-heavy and an insert-heavy WAL (built once, outside the repository, by a real SQLite).

usage: python3 benches/extract-bench.py [--dir /tmp/extractbench] [--size-mib 256] [--runs 7]

Each round times, alternating, `walinspect extract DB -o OUT --no-live` and `sqlite3 COPY
".backup OUT"` where COPY is a fresh copy of db + -wal made before the clock starts (SQLite
runs its WAL recovery, as it would on evidence); the medians and their ratio are printed per
shape, with the number of positioned reads extract made (strace, when available).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def fresh_copy(db, scratch):
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    c = os.path.join(scratch, "copy.db")
    for s in ("", "-wal"):
        shutil.copyfile(db + s, c + s)
    return c


def preads(wi, db, out):
    if not shutil.which("strace"):
        return None
    r = subprocess.run(["strace", "-f", "-c", "-e", "trace=pread64", wi, "extract", db, "-o", out, "--no-live"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    os.remove(out)
    for line in r.stderr.splitlines():
        if line.strip().endswith("pread64"):
            return int(line.split()[3])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/extractbench")
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    wi = os.path.join(ROOT, "target", "release", "walinspect")
    shapes = [("update-heavy", "upd.db", "make-update-wal.py"), ("insert-heavy", "big.db", "make-big-wal.py")]
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; runs: {a.runs}")
    for name, base, maker in shapes:
        d = os.path.join(a.dir, name)
        db = os.path.join(d, base)
        if not os.path.exists(db + "-wal"):
            subprocess.run([sys.executable, os.path.join(HERE, maker), d, str(a.size_mib)], check=True)
        out = os.path.join(d, "out.db")
        scratch = os.path.join(d, "scratch")
        subprocess.run(["cat", db, db + "-wal"], stdout=subprocess.DEVNULL)  # warm the cache
        ours, theirs = [], []
        for _ in range(a.runs):
            if os.path.exists(out):
                os.remove(out)
            ours.append(timed([wi, "extract", db, "-o", out, "--no-live"]))
            os.remove(out)
            c = fresh_copy(db, scratch)
            theirs.append(timed(["sqlite3", c, f".backup {out}"]))
            os.remove(out)
        mo, mt = statistics.median(ours), statistics.median(theirs)
        print(f"{name}: WAL {os.path.getsize(db + '-wal') / 2**20:.0f} MiB")
        print(f"  walinspect extract   median {mo * 1000:7.1f} ms  (min {min(ours) * 1000:7.1f})")
        print(f"  sqlite3 .backup      median {mt * 1000:7.1f} ms  (min {min(theirs) * 1000:7.1f})")
        print(f"  ratio                {mt / mo:5.2f}x   positioned reads by extract: {preads(wi, db, out)}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
