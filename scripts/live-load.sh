#!/usr/bin/env bash
# Load test of `vendorwatch live`: tcpreplay --topspeed of a capture into one end of a veth
# pair (in a namespace this script creates), vendorwatch capturing on the other end, at 1 and
# at 2 workers. Reports pps replayed, pps processed, kernel drops and alerts missed
# (expected = alerts of `scan` on the same file x loops; DNS packets alert each time).
# Needs root, tcpreplay, a release build (cargo build --release). Usage:
#   scripts/live-load.sh [PCAP] [LOOPS]     (REPLAY_RATE=--pps=5000 for a paced run)
set -euo pipefail
cd "$(dirname "$0")/.."
PCAP=${1:-pcaps/kaspersky-dns.pcap}
LOOPS=${2:-2000}
BIN=${VENDORWATCH:-${CARGO_TARGET_DIR:-target}/release/vendorwatch}
[ "$(id -u)" = 0 ] || { echo "live-load: needs root"; exit 1; }
command -v tcpreplay >/dev/null || { echo "live-load: tcpreplay missing"; exit 1; }
[ -x "$BIN" ] || { echo "live-load: build first: cargo build --release ($BIN)"; exit 1; }
NS=vwload$$
DIR=$(mktemp -d)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link add la type veth peer name lb
ip -n "$NS" link set la up
ip -n "$NS" link set lb up
per_loop=$("$BIN" scan --quiet --workers 1 --suppress-window 0 "$PCAP" | grep -c '"event_type":"alert"' || true)
pkts=$("$BIN" scan "$PCAP" 2>&1 >/dev/null | sed -n 's/^  packets: \([0-9]*\).*/\1/p')
expected=$((per_loop * LOOPS))
echo "capture $PCAP: $pkts packets, $per_loop alerts per loop; $LOOPS loops: $((pkts * LOOPS)) packets, $expected alerts expected"
printf '%-8s %12s %12s %12s %12s %10s %10s\n' workers replayed_pps sent kernel_pkts kernel_drops alerts missed
for w in 1 2; do
  ip netns exec "$NS" "$BIN" live -i lb --workers "$w" --buffer-size $((64 << 20)) \
    --stats-interval 0 --suppress-window 0 --quiet --eve "$DIR/eve-$w.json" 2>"$DIR/err-$w" &
  vw=$!
  for _ in $(seq 50); do grep -q "capturing on" "$DIR/err-$w" && break; sleep 0.1; done
  ip netns exec "$NS" tcpreplay -q -i la ${REPLAY_RATE:---topspeed} --loop "$LOOPS" "$PCAP" >"$DIR/replay-$w" 2>&1
  sleep 1
  kill -TERM "$vw"; wait "$vw" || true
  rate=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' "$DIR/replay-$w" | head -1)
  sent=$(sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' "$DIR/replay-$w" | head -1)
  stats=$(grep '"event_type":"stats"' "$DIR/eve-$w.json" | tail -1)
  kp=$(echo "$stats" | sed -n 's/.*"kernel_packets":\([0-9]*\).*/\1/p')
  kd=$(echo "$stats" | sed -n 's/.*"kernel_drops":\([0-9]*\).*/\1/p')
  alerts=$(grep -c '"event_type":"alert"' "$DIR/eve-$w.json" || true)
  printf '%-8s %12s %12s %12s %12s %10s %10s\n' "$w" "$rate" "$sent" "$kp" "$kd" "$alerts" $((expected - alerts))
done
