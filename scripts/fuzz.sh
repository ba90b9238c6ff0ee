#!/usr/bin/env bash
# Fuzz every target in fuzz/ for SECONDS each (default 60), two at a time, at the lowest CPU
# priority, then print per-target executions, crashes and corpus size.
#
#   bash scripts/fuzz.sh 600                      # the 10-minute run
#   FUZZ_TARGETS="dns tls" bash scripts/fuzz.sh 60
#   FUZZ_JOBS=1 bash scripts/fuzz.sh 60           # one target at a time
#
# Needs the nightly toolchain and cargo-fuzz (installed from crates.io when missing). Seeds are
# cut from pcaps/ (and ../shared/corpus when present) by `cargo run --example fuzz-seeds` into
# fuzz/corpus/TARGET, which libFuzzer then grows; crashes land in fuzz/artifacts/TARGET and
# make this script exit 1. Logs: fuzz/logs/TARGET.log. Build output goes to
# $CARGO_TARGET_DIR/fuzz when CARGO_TARGET_DIR is set, else fuzz/target.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
jobs="${FUZZ_JOBS:-2}"
targets="${FUZZ_TARGETS:-dns dns_diff tls http quic dhcp decode capture pipeline}"
fuzz_target_dir="${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}"
fuzz_target_dir="${fuzz_target_dir:-$PWD/fuzz/target}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz
fi

seed_inputs=(pcaps/)
[ -d ../shared/corpus ] && seed_inputs+=(../shared/corpus)
nice -n 19 cargo run --quiet --example fuzz-seeds -- fuzz/corpus "${seed_inputs[@]}"

(cd fuzz && nice -n 19 cargo +nightly fuzz build --target-dir "$fuzz_target_dir")

mkdir -p fuzz/logs fuzz/artifacts
stamp="$(mktemp)"
run_one() {
  local t="$1"
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  (cd fuzz && nice -n 19 cargo +nightly fuzz run --target-dir "$fuzz_target_dir" "$t" \
    "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
    -timeout=10) >"fuzz/logs/$t.log" 2>&1 || true
}

running=0
for t in $targets; do
  echo "fuzz: $t for ${secs}s"
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-10s %12s %8s %8s %s\n' target execs crashes corpus 'execs/s'
for t in $targets; do
  log="fuzz/logs/$t.log"
  execs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')"
  crashes="$(find "fuzz/artifacts/$t" -type f -newer "$stamp" | wc -l)"
  corpus="$(find "fuzz/corpus/$t" -type f | wc -l)"
  if [ -z "$execs" ]; then
    # libFuzzer stops at the first crash before its final stats; count from the last status line.
    execs="$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')"
    [ "$crashes" -eq 0 ] && crashes="?"
  fi
  printf '%-10s %12s %8s %8s %s\n' "$t" "${execs:-?}" "$crashes" "$corpus" "$(( ${execs:-0} / secs ))"
  if [ "$crashes" != 0 ]; then
    status=1
    grep -m1 -A3 -E 'panicked|ERROR: (libFuzzer|AddressSanitizer)' "$log" | sed "s/^/  $t: /" || true
    find "fuzz/artifacts/$t" -type f -newer "$stamp" | sed "s/^/  $t: artifact /"
  fi
done
rm -f "$stamp"
exit "$status"
