#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 300), one after another, seeded from fuzz/corpus
# (written by `TCPLADDER_WRITE_FUZZ_SEEDS=1 cargo test --release --test tests fuzz_seeds`), and
# appends a line per target to fuzz/runs.tsv: date, target, seconds, executions, coverage, crashes.
# A crash is left in fuzz/artifacts/TARGET/; copy it to fuzz/regressions/TARGET/ once fixed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
targets="${*:-decode capture_file tracker ladder}"
cargo +nightly fuzz build -s none -O >/dev/null 2>&1 || { echo "cargo +nightly fuzz build failed"; exit 1; }
for target in $targets; do
  mkdir -p "fuzz/corpus/$target"
  log="$(mktemp)"
  cargo +nightly fuzz run -s none -O "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1
  status=$?
  runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" | tail -1)
  cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1)
  crashes=$(ls "fuzz/artifacts/$target" 2>/dev/null | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$target" "$seconds" "${runs:-?}" "${cov:-?}" "$crashes" "exit $status" | tee -a fuzz/runs.tsv
  [ "$status" -ne 0 ] && tail -30 "$log"
  rm -f "$log"
done
