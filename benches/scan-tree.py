#!/usr/bin/env python3
"""`walinspect scan` on a 100,000-file tree with a few hundred SQLite sets, side by side with the
floors and with `check` run set by set, in one run.

usage: python3 benches/scan-tree.py [--dir /tmp/scanbench] [--files 100000] [--dbs 300] [--runs 3]
                                    [--bin target/release/walinspect]

1. Makes (once) the tree outside the repository: --dbs WAL-mode sets copied from three states a
   real SQLite made (healthy: db + -wal + -shm with 200 commits; crashed: an uncommitted tail;
   reset: earlier WAL generations), one lone WAL under another name per 50 sets, and the rest of
   --files as non-SQLite files of 0.5-4 KiB in nested folders (100 files a folder, 3 levels).
2. Times, warm (files in the page cache), the median of --runs runs of:
   - `find TREE -type f`                  listing the tree, the floor of any walk
   - `walinspect scan --no-live --json`   walk + sniff + group + check-analysis + salvage counts + SHA-256
   - `walinspect scan --no-live --json --no-salvage`
   - `walinspect check --no-live` on every set's database, one process after the other (what
     triage without `scan` costs: the sets found by `scan` itself, so the work is the same)
   - `sha256sum` of every file in the sets (coreutils' hashing of the same bytes)
3. With root and /proc/sys/vm/drop_caches, also `find` and `scan` once each after dropping the
   page cache.
Prints medians and the peak memory (max RSS, from /usr/bin/time) of each command.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd, out=subprocess.DEVNULL):
    """Run cmd; return (wall seconds, peak RSS in KiB). The RSS comes from /usr/bin/time (a
    forked child's ru_maxrss would include this Python process's memory at the fork)."""
    t = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", *cmd], stdout=out, stderr=subprocess.PIPE)
    _, status, _ = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode()
    if code not in (0, 1):
        sys.exit(f"{cmd} failed ({code}): {err}")
    return dt, int(err.strip().splitlines()[-1])


def snapshot(conn_path, dst):
    for s in ("", "-wal", "-shm"):
        if os.path.exists(conn_path + s):
            shutil.copyfile(conn_path + s, dst + s)


def templates(work):
    """Three states made by a real SQLite (copied while the writer is open)."""
    os.makedirs(work, exist_ok=True)
    out = {}
    p = os.path.join(work, "healthy.db")
    c = sqlite3.connect(p, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    for i in range(200):
        c.execute("INSERT INTO t(v) VALUES (?)", ("row %d %s" % (i, "x" * (i % 80)),))
    snapshot(p, os.path.join(work, "T-healthy"))
    out["healthy"] = os.path.join(work, "T-healthy")
    c.execute("PRAGMA cache_size=2")
    c.execute("BEGIN")
    for i in range(300):
        c.execute("INSERT INTO t(v) VALUES (?)", ("y" * 300,))
    snapshot(p, os.path.join(work, "T-crashed"))
    out["crashed"] = os.path.join(work, "T-crashed")
    c.execute("ROLLBACK")
    for k in range(30):
        c.execute("UPDATE t SET v = ? WHERE id = 7", ("version %d" % k,))
    c.execute("PRAGMA wal_checkpoint(RESTART)")
    c.execute("UPDATE t SET v = 'after' WHERE id = 1")
    snapshot(p, os.path.join(work, "T-reset"))
    out["reset"] = os.path.join(work, "T-reset")
    c.close()
    return out


def make_tree(tree, files, dbs):
    marker = os.path.join(tree, ".complete")
    if os.path.exists(marker):
        return
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    t = templates(tree + "-templates")
    rnd = random.Random(1)
    names = list(t)
    made = 0
    for i in range(dbs):
        d = os.path.join(tree, "apps", "a%03d" % (i // 20), "b%03d" % i)
        os.makedirs(d, exist_ok=True)
        src = t[names[i % 3]]
        for s in ("", "-wal", "-shm"):
            if os.path.exists(src + s):
                shutil.copyfile(src + s, os.path.join(d, "data.db" + s))
                made += 1
        if i % 50 == 0:
            shutil.copyfile(t["healthy"] + "-wal", os.path.join(d, "backup.log"))
            made += 1
    rest = files - made
    per_dir = 100
    for i in range(rest):
        d = os.path.join(tree, "files", "x%02d" % (i // 10000), "y%03d" % (i // per_dir % 100))
        if i % per_dir == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%06d.bin" % i), "wb") as f:
            f.write(rnd.randbytes(rnd.randint(512, 4096)))
    open(marker, "w").close()


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
    ap.add_argument("--dir", default="/tmp/scanbench")
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--dbs", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "walinspect"))
    a = ap.parse_args()
    tree = os.path.join(a.dir, "tree")
    t0 = time.perf_counter()
    make_tree(tree, a.files, a.dbs)
    print(f"tree ready ({time.perf_counter() - t0:.1f} s): {tree}")
    w = a.bin

    # What scan finds (also the list `check` is run on).
    out = subprocess.run([w, "scan", "--no-live", "--json", tree], capture_output=True, text=True).stdout
    lines = [json.loads(l) for l in out.splitlines()]
    sets = [l for l in lines if l["type"] == "set"]
    summary = lines[-1]
    print(f"scan: {summary['sets']} sets, {summary['files_seen']} files seen, "
          f"{summary['files_in_sets']} in sets, {summary['salvage_rows']} recoverable rows")
    set_files = [h["path"] for s in sets for h in s["hashes"]]
    primaries = [s["path"] for s in sets if s["set_kind"] == "database"]

    def median(cmd_fn):
        times, rss = [], 0
        for _ in range(a.runs):
            dt, r = cmd_fn()
            times.append(dt)
            rss = max(rss, r)
        return statistics.median(times), rss

    def check_each():
        t = time.perf_counter()
        rss = 0
        for p in primaries:
            _, r = run([w, "check", "--no-live", p])
            rss = max(rss, r)
        return time.perf_counter() - t, rss

    rows = [
        ("find TREE -type f", lambda: run(["find", tree, "-type", "f"])),
        ("walinspect scan --no-live --json", lambda: run([w, "scan", "--no-live", "--json", tree])),
        ("walinspect scan --no-live --json --no-salvage", lambda: run([w, "scan", "--no-live", "--json", "--no-salvage", tree])),
        (f"walinspect check, each of {len(primaries)} sets in turn", check_each),
        (f"sha256sum of the {len(set_files)} set files", lambda: run(["sha256sum", *set_files])),
    ]
    print(f"{'what':58} {'median s':>9} {'max RSS MiB':>12}")
    for name, fn in rows:
        dt, rss = median(fn)
        print(f"{name:58} {dt:9.3f} {rss / 1024:12.1f}")
    if drop_caches():
        dt, rss = run(["find", tree, "-type", "f"])
        print(f"{'find TREE -type f, cold (page cache dropped)':58} {dt:9.3f} {rss / 1024:12.1f}")
        drop_caches()
        dt, rss = run([w, "scan", "--no-live", "--json", tree])
        print(f"{'walinspect scan, cold (page cache dropped)':58} {dt:9.3f} {rss / 1024:12.1f}")
    else:
        print("(no cold run: cannot drop the page cache here)")


if __name__ == "__main__":
    main()
