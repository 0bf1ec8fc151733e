#!/usr/bin/env bash
# No false corruption on a healthy live database: run `check --json` and `locks --json` RUNS
# times each while the stock sqlite3 shell commits as fast as it can (one row per transaction,
# deletes, RESTART and TRUNCATE checkpoints), and count runs with any finding above `info`
# (`env.*` excluded: they describe where the scratch directory lies) and runs that said
# `live.changing`. Usage: benches/live_consistency.sh [RUNS] [BINARY]
set -euo pipefail
RUNS=${1:-1000}
BIN=${2:-target/debug/walinspect}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
db="$dir/live.db"
sqlite3 "$db" "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null
# The writer: an endless stream of single-row transactions for the stock shell.
awk 'BEGIN { print "PRAGMA synchronous=OFF; PRAGMA wal_autocheckpoint=0; PRAGMA busy_timeout=5000;";
             for (n = 1; ; n++) {
               printf "INSERT INTO t(v) VALUES (printf(\"%%.*c\", %d, \"x\"));\n", n % 700;
               if (n % 400 == 0) printf "DELETE FROM t WHERE id < %d;\n", n - 1000;
               if (n % 997 == 0) print "PRAGMA wal_checkpoint(RESTART);";
               if (n % 2503 == 0) print "PRAGMA wal_checkpoint(TRUNCATE);";
             } }' | sqlite3 "$db" >/dev/null 2>&1 &
sleep 0.5
for cmd in check locks; do
  bad=0; changing=0; start=$(date +%s.%N)
  for i in $(seq 1 "$RUNS"); do
    out=$("$BIN" "$cmd" "$db" --json 2>/dev/null) || true
    verdict=$(printf '%s' "$out" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print("bad-json"); sys.exit()
f = d["findings"]
above = [x["code"] for x in f if x["severity"] != "info" and not x["code"].startswith("env.")]
print(("above:" + ",".join(above)) if above else ("changing" if any(x["code"] == "live.changing" for x in f) else "ok"))')
    case $verdict in
      ok) ;;
      changing) changing=$((changing + 1)) ;;
      *) bad=$((bad + 1)); echo "$cmd run $i: $verdict" >&2 ;;
    esac
  done
  end=$(date +%s.%N)
  rows=$(sqlite3 "file:$db?mode=ro" "SELECT max(id) FROM t" 2>/dev/null || echo "?")
  printf '%s: %d runs, %d with a finding above info, %d said live.changing, %.1f s; writer at row %s\n' \
    "$cmd" "$RUNS" "$bad" "$changing" "$(echo "$end - $start" | bc)" "$rows"
done
