#!/usr/bin/env python3
"""walinspect against SQLite on the same large WAL, side by side, in one run.

usage: python3 benches/bench.py [--dir /tmp/walbench] [--size-mib 1024] [--runs 5] [--cold]

1. Makes (once) a large WAL-mode state with a real SQLite (benches/make-big-wal.py), outside
   the repository.
2. Times, warm (files in the page cache), the median of --runs runs of:
   - `walinspect check`         every frame's checksum, salts, valid prefix, -shm cross-check
   - `walinspect rebuild-shm`   the wal-index recovery would build
   - `walinspect extract`       the last snapshot as a standalone database
   - SQLite recovery: `sqlite3 -readonly COPY "SELECT count(*) FROM sqlite_schema"` on a fresh
     copy of db + -wal without -shm (the copy is made before the clock starts)
   - `sqlite3 COPY ".backup OUT"` on a fresh copy (a user's way to extract a snapshot)
   - a plain sequential read of the -wal (`cat`), the floor for a cold run
3. With --cold, also each tool once after dropping the page cache (needs root and
   /proc/sys/vm/drop_caches).
Prints medians, peak memory (max RSS of the child) and the ratios the targets in
docs/performance.md are stated in.
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


def run(cmd, **kw):
    """Run cmd; return (wall seconds, peak RSS of that child in KiB)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{cmd} failed ({code}): {p.stderr.read().decode()}")
    return dt, usage.ru_maxrss


def fresh_copy(src_db, dst_dir):
    shutil.rmtree(dst_dir, ignore_errors=True)
    os.makedirs(dst_dir)
    for s in ("", "-wal"):
        shutil.copyfile(src_db + s, os.path.join(dst_dir, "big.db" + s))
    return os.path.join(dst_dir, "big.db")


def drop_caches():
    try:
        subprocess.run(["sync"])
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/walbench")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cold", action="store_true")
    a = ap.parse_args()
    db = os.path.join(a.dir, "big.db")
    if not os.path.exists(db + "-wal"):
        subprocess.run([sys.executable, os.path.join(HERE, "make-big-wal.py"), a.dir, str(a.size_mib)], check=True)
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    wi = os.path.join(ROOT, "target", "release", "walinspect")
    scratch = os.path.join(a.dir, "scratch")
    wal_size = os.path.getsize(db + "-wal")
    print(f"WAL: {wal_size} bytes ({wal_size / 2**30:.2f} GiB); {os.cpu_count()} CPUs; runs: {a.runs}")
    subprocess.run(["cat", db + "-wal", db], stdout=subprocess.DEVNULL)  # warm the cache

    def bench(name, prepare, cmd_of):
        times, rss = [], 0
        for _ in range(a.runs):
            arg = prepare()
            dt, m = run(cmd_of(arg))
            times.append(dt)
            rss = max(rss, m)
        med = statistics.median(times)
        print(f"  {name:<26} median {med * 1000:8.1f} ms   (min {min(times) * 1000:7.1f})   peak RSS {rss / 1024:6.1f} MiB")
        return med

    out = os.path.join(a.dir, "out")

    def rm_out():
        for p in (out + ".db", out + ".shm"):
            if os.path.exists(p):
                os.remove(p)
        return None

    print("warm:")
    r = {}
    r["check"] = bench("walinspect check", lambda: None, lambda _: [wi, "check", "--no-live", db])
    r["check_mmap"] = bench("walinspect check --mmap", lambda: None, lambda _: [wi, "check", "--no-live", "--mmap", db])
    r["rebuild"] = bench("walinspect rebuild-shm", rm_out, lambda _: [wi, "rebuild-shm", db, "-o", out + ".shm"])
    r["extract"] = bench("walinspect extract", rm_out, lambda _: [wi, "extract", db, "-o", out + ".db"])
    r["recovery"] = bench("sqlite3 recovery", lambda: fresh_copy(db, scratch),
                          lambda c: ["sqlite3", "-readonly", c, "SELECT count(*) FROM sqlite_schema"])
    r["backup"] = bench("sqlite3 .backup", lambda: (rm_out(), fresh_copy(db, scratch))[1],
                        lambda c: ["sqlite3", c, f".backup {out}.db"])
    r["cat"] = bench("cat -wal (sequential read)", lambda: None, lambda _: ["cat", db + "-wal"])
    print("ratios (warm):")
    print(f"  SQLite recovery / walinspect check   {r['recovery'] / r['check']:6.2f}x   (target >= 6)")
    print(f"  SQLite recovery / check --mmap       {r['recovery'] / r['check_mmap']:6.2f}x   (target >= 6)")
    print(f"  rebuild-shm / check                  {r['rebuild'] / r['check']:6.2f}    (target <= 1.15)")
    print(f"  sqlite3 .backup / walinspect extract {r['backup'] / r['extract']:6.2f}x   (target >= 3)")
    if a.cold:
        if not drop_caches():
            print("cold: cannot drop the page cache here (needs root and /proc/sys/vm/drop_caches)")
            return
        print(f"cold (page cache dropped before each run; medians of {a.runs}, alternating):")
        c = fresh_copy(db, scratch)
        cold = {"cat -wal": [], "walinspect check": [], "sqlite3 recovery": []}
        cmds = {
            "cat -wal": ["cat", db + "-wal"],
            "walinspect check": [wi, "check", "--no-live", db],
            "sqlite3 recovery": ["sqlite3", "-readonly", c, "SELECT count(*) FROM sqlite_schema"],
        }
        for _ in range(a.runs):
            for name, cmd in cmds.items():
                if name == "sqlite3 recovery":
                    c = fresh_copy(db, scratch)
                    cmd = ["sqlite3", "-readonly", c, "SELECT count(*) FROM sqlite_schema"]
                drop_caches()
                cold[name].append(run(cmd)[0])
        for name, ts in cold.items():
            print(f"  {name:<26} median {statistics.median(ts) * 1000:8.1f} ms")
        print(f"  check / cat (cold)                   {statistics.median(cold['walinspect check']) / statistics.median(cold['cat -wal']):6.2f}    (target <= 1.15)")
    rm_out()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
