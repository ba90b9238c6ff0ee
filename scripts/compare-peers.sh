#!/usr/bin/env bash
# Throughput of vendorwatch against tshark and ndpiReader on the same capture, one core each.
#
#   scripts/compare-peers.sh FILE
#
# FILE is best a gen-mix capture (cargo run --release --example gen-mix -- --bytes 2G --out F):
# then FILE.planted.tsv lists every planted Kaspersky observation and the script also says
# whether vendorwatch found them all (scripts/check-planted.py).
#
# Each tool runs pinned to one CPU (taskset -c $CPU, default 0) on the page-cached file; the
# best wall time of $REPEAT runs (default 3 for vendorwatch, $PEER_REPEAT=1 for the peers) is
# reported with packets/s, bytes/s (file bytes), peak RSS, and how many times slower than
# vendorwatch each peer was. A missing peer is skipped with the reason. Environment:
#   VENDORWATCH=path   use this binary instead of building target/release/vendorwatch
#   CPU=n REPEAT=n PEER_REPEAT=n   as above
#   NDPI_INSTALL=1     apt-get install libndpi-bin when ndpiReader is missing
#   KEEP=dir           keep the tools' outputs there (default: a temporary directory)
set -euo pipefail

file=${1:?usage: scripts/compare-peers.sh FILE}
[ -r "$file" ] || { echo "compare-peers: cannot read $file" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cpu=${CPU:-0}
repeat=${REPEAT:-3}
peer_repeat=${PEER_REPEAT:-1}
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

if [ -z "${VENDORWATCH:-}" ]; then
  (cd "$root" && cargo build --release --locked --quiet)
  VENDORWATCH=${CARGO_TARGET_DIR:-$root/target}/release/vendorwatch
fi

if ! command -v ndpiReader >/dev/null 2>&1 && [ "${NDPI_INSTALL:-0}" = 1 ]; then
  apt-get install -y libndpi-bin >/dev/null 2>&1 || true
fi

# Page-cache the file (twice: the second read shows it is cached).
cat "$file" >/dev/null
cache_start=$(date +%s.%N)
cat "$file" >/dev/null
cache_end=$(date +%s.%N)
size=$(stat -c %s "$file")

# Packet count from vendorwatch's own summary (one extra untimed run).
packets=$("$VENDORWATCH" scan "$file" --eve /dev/null 2>&1 | sed -n 's/^  packets: \([0-9]*\) .*/\1/p')
[ -n "$packets" ] || { echo "compare-peers: vendorwatch could not read $file" >&2; exit 1; }

echo "file: $file ($size bytes, $packets packets; re-read from page cache in $(echo "$cache_end - $cache_start" | bc) s)"
echo "cpu: $(nproc) cores, tools pinned to cpu $cpu; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME REPEAT OUTFILE CMD...: best wall seconds and peak RSS (KiB) of REPEAT runs.
best_wall="" best_rss=""
run() {
  local name=$1 n=$2 out=$3
  shift 3
  best_wall="" best_rss=""
  for _ in $(seq "$n"); do
    /usr/bin/time -f '%e %M' -o "$work/$name.time" taskset -c "$cpu" "$@" >"$out" 2>"$work/$name.err" || {
      echo "compare-peers: $name failed: $(tail -3 "$work/$name.err")" >&2
      return 1
    }
    read -r wall rss <"$work/$name.time"
    if [ -z "$best_wall" ] || [ "$(echo "$wall < $best_wall" | bc)" = 1 ]; then
      best_wall=$wall best_rss=$rss
    fi
  done
}

rows=()
vw_wall=""
add_row() { # name wall rss found
  local name=$1 wall=$2 rss=$3 found=$4 pps bps ratio
  # /usr/bin/time has 10 ms resolution; avoid dividing by zero on tiny files.
  [ "$(echo "$wall < 0.01" | bc)" = 1 ] && wall=0.01
  pps=$(echo "$packets / $wall" | bc)
  bps=$(echo "scale=1; $size / $wall / 1000000" | bc)
  if [ -z "$vw_wall" ]; then vw_wall=$wall; fi
  ratio=$(echo "scale=1; $wall / $vw_wall" | bc)
  rows+=("$(printf '%-12s %9s %14s %10s %10s %9s  %s' "$name" "$wall" "$pps" "$bps" "${ratio}x" "$((rss / 1024))" "$found")")
}

skipped=()
eve="$work/vendorwatch.eve"
run vendorwatch "$repeat" /dev/null "$VENDORWATCH" scan -q --suppress-window 0 "$file" --eve "$eve"
add_row vendorwatch "$best_wall" "$best_rss" "$(grep -c '"event_type":"alert"' "$eve" || true) alerts"

if command -v tshark >/dev/null 2>&1; then
  if run tshark "$peer_repeat" "$work/tshark.txt" tshark -n -r "$file" -T fields \
    -e frame.number -e dns.qry.name -e tls.handshake.extensions_server_name \
    -Y 'dns.qry.name or tls.handshake.extensions_server_name'; then
    add_row tshark "$best_wall" "$best_rss" "$(grep -ciE 'kaspersky(-labs)?\.com' "$work/tshark.txt" || true) kaspersky lines"
  else
    skipped+=("tshark: failed (see above)")
  fi
else
  skipped+=("tshark: not installed (apt-get install tshark)")
fi

if command -v ndpiReader >/dev/null 2>&1; then
  # -q: no per-flow dump. nDPI classifies every flow (DNS, TLS, QUIC, HTTP).
  if run ndpiReader "$peer_repeat" "$work/ndpi.txt" ndpiReader -q -i "$file"; then
    add_row ndpiReader "$best_wall" "$best_rss" "-"
  else
    skipped+=("ndpiReader: failed (see above)")
  fi
else
  skipped+=("ndpiReader: not installed (apt-get install -y libndpi-bin, or NDPI_INSTALL=1)")
fi

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-12s %9s %14s %10s %10s %9s  %s\n' tool wall_s packets/s MB/s vs_vw rss_MiB found
for r in "${rows[@]}"; do echo "$r"; done
for s in ${skipped[@]+"${skipped[@]}"}; do echo "skipped $s"; done
echo "(vs_vw: the tool's wall time over vendorwatch's; MB/s counts file bytes, 10^6)"

if [ -r "$file.planted.tsv" ]; then
  echo
  echo "planted observations ($file.planted.tsv) vs. vendorwatch alerts:"
  python3 "$root/scripts/check-planted.py" "$eve" "$file.planted.tsv" ${REQUIRED_KINDS:+"$REQUIRED_KINDS"}
else
  echo "no $file.planted.tsv: planted-observation check skipped (not a gen-mix file)"
fi
