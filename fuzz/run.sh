#!/usr/bin/env bash
# Fuzzing in CI (and by hand): every fuzz target, built with `cargo build` on stable, replays
# every committed seed (`fuzz/seeds/*/*`) and every sample file (`samples/*/*`): a crash, a
# panic or an assertion in any target on any of them fails the run. libFuzzer binaries run the
# files they are given once each, without fuzzing, so this needs no nightly.
#
# With FUZZ_SECONDS=N (and a nightly toolchain), each target is then fuzzed for N seconds,
# coverage-guided (the build `cargo fuzz build` makes, done by hand so cargo-fuzz need not be
# installed), seeded from the same files, and its executions are printed. Without nightly it
# says so and stops after the replay.
#
# Usage: fuzz/run.sh            (replay only)
#        FUZZ_SECONDS=10 fuzz/run.sh
set -euo pipefail
cd "$(dirname "$0")"
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^walinspect-fuzz$')
inputs=(seeds/*/* ../samples/*/*)

cargo build --quiet
for t in $targets; do
  out=$(./target/debug/"$t" "${inputs[@]}" 2>&1) || {
    echo "$out" | tail -30
    echo "fuzz target $t failed on a committed seed or sample" >&2
    exit 1
  }
  echo "replayed ${#inputs[@]} seeds and samples through $t"
done

secs=${FUZZ_SECONDS:-0}
[ "$secs" -gt 0 ] || exit 0
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "no nightly toolchain: coverage-guided fuzzing skipped (the replay above ran)"
  exit 0
fi
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# The instrumented build compiles every dependency again: bounded (FUZZ_BUILD_SECONDS, 180 by
# default) so CI stays short; a build cut off resumes where it stopped on the next run.
if ! timeout "${FUZZ_BUILD_SECONDS:-180}" cargo +nightly build --quiet --release --target "$triple" \
  --target-dir target/fuzzing; then
  echo "the nightly fuzzing build failed or took too long: coverage-guided fuzzing skipped (the replay above ran)"
  exit 0
fi
for t in $targets; do
  corpus=$(mktemp -d)
  for f in "${inputs[@]}"; do cp "$f" "$corpus/$(echo "$f" | tr '/.' '__')"; done
  stats=$(./target/fuzzing/"$triple"/release/"$t" "$corpus" -max_total_time="$secs" -rss_limit_mb=1024 \
    -print_final_stats=1 2>&1) || {
    echo "$stats" | tail -40
    rm -rf "$corpus"
    echo "fuzz target $t found a failure" >&2
    exit 1
  }
  rm -rf "$corpus"
  runs=$(echo "$stats" | sed -n 's/^stat::number_of_executed_units: *//p')
  echo "fuzzed $t for ${secs} s: ${runs:-?} executions"
done
