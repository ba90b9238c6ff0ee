#!/usr/bin/env bash
# Load benchmark of `vendorwatch live`, with tcpdump as the yardstick on the same replays:
# tcpreplay into one end of a veth pair (in a namespace this script creates), the sensor
# capturing on the other end. Scenarios:
#   paced     the gen-mix file (1M packets) at $RATE packets/s (default 150000)
#   topspeed  the gen-mix file at tcpreplay --topspeed
#   worst     every packet alerts: pcaps/kaspersky-dns.pcap looped $LOOPS times (default 3000),
#             --topspeed, --suppress-window 0
# Sensors ($SENSORS, default "afpacket:1 afpacket:2 pcap:1 pcap:2 tcpdump"): vendorwatch
# `--capture METHOD --workers N` (afpacket: the default 64 MiB ring per worker; pcap:
# `--buffer-size` 64 MiB), `tcpdump -w /dev/null` (libpcap, default buffering), and
# Suricata's AF_PACKET when VW_SURICATA names a binary (VW_SURICATA_ARGS: extra arguments, e.g.
# `-c suricata.yaml`; its alerts are what its rules give, not compared).
# Per run it prints: replayed packets/s, packets sent, sensor CPU seconds (user+sys, read from
# /proc just before the sensor is stopped) per 1M packets, kernel packets and drops, alerts
# and alerts lost (expected = alerts of `scan --suppress-window 0` on the file x loops).
# Needs root, tcpreplay, tcpdump, a release build (cargo build --release --bin vendorwatch
# --example gen-mix). Usage:
#   scripts/live-load.sh [SCENARIO...]          (default: paced topspeed worst)
#   MIX=/path/mix.pcap  use this file instead of generating one (gen-mix --packets 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${VENDORWATCH:-$TARGET/release/vendorwatch}
GEN=$TARGET/release/examples/gen-mix
RATE=${RATE:-150000}
LOOPS=${LOOPS:-3000}
SENSORS=${SENSORS:-afpacket:1 afpacket:2 pcap:1 pcap:2 tcpdump}
[ -n "${VW_SURICATA:-}" ] && SENSORS="$SENSORS suricata"
SCENARIOS=${*:-paced topspeed worst}
[ "$(id -u)" = 0 ] || { echo "live-load: needs root"; exit 1; }
for tool in tcpreplay tcpdump; do
  command -v $tool >/dev/null || { echo "live-load: $tool missing (scripts/deps.sh test)"; exit 1; }
done
[ -x "$BIN" ] || { echo "live-load: build first: cargo build --release ($BIN)"; exit 1; }
MIX=${MIX:-${TMPDIR:-/tmp}/vw-load-mix-1m.pcap}
if [ ! -s "$MIX" ]; then
  [ -x "$GEN" ] || { echo "live-load: build first: cargo build --release --example gen-mix"; exit 1; }
  echo "generating $MIX (gen-mix --packets 1000000)"
  "$GEN" --packets 1000000 --out "$MIX" >/dev/null
fi
NS=vwload$$
DIR=$(mktemp -d)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link add la type veth peer name lb
# Jumbo MTU: the mix has frames over 1500 bytes (IPv6 with 1448-byte segments) that a
# 1500-byte veth would refuse to send.
ip -n "$NS" link set la mtu 9000 up
ip -n "$NS" link set lb mtu 9000 up
TCK=$(getconf CLK_TCK)

# CPU seconds (user + sys, all threads) of a running process.
cpu_of() { awk -v t="$TCK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat"; }
# Wait until FILE contains TEXT (10 s at most).
wait_for() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

echo "load: $(uptime | sed 's/.*load average/load average/'), $(nproc) cores"
printf '%-9s %-12s %10s %9s %8s %12s %11s %9s %8s\n' \
  scenario sensor replay_pps sent cpu_s/1M kernel_pkts kernel_drops alerts lost
for scenario in $SCENARIOS; do
  case $scenario in
    paced) pcap=$MIX loops=1 speed="--pps=$RATE" suppress=() ;;
    topspeed) pcap=$MIX loops=1 speed=--topspeed suppress=() ;;
    worst) pcap=pcaps/kaspersky-dns.pcap loops=$LOOPS speed=--topspeed suppress=(--suppress-window 0) ;;
    *) echo "live-load: unknown scenario $scenario (paced, topspeed, worst)"; exit 1 ;;
  esac
  # Every repeat alerts for the mix too: what a sensor writes does not depend on timing.
  per_loop=$("$BIN" scan --quiet --workers 1 --suppress-window 0 "$pcap" | grep -c '"event_type":"alert"' || true)
  expected=$((per_loop * loops))
  for sensor in $SENSORS; do
    run=$DIR/$scenario-${sensor/:/-}
    case $sensor in
      afpacket:* | pcap:*)
        method=${sensor%%:*} workers=${sensor##*:}
        # The same kernel memory for both: the default 64 MiB ring, a 64 MiB libpcap buffer.
        buffer=()
        [ "$method" = pcap ] && buffer=(--buffer-size $((64 << 20)))
        ip netns exec "$NS" "$BIN" live -i lb --capture "$method" --workers "$workers" "${buffer[@]}" \
          --stats-interval 0 --suppress-window 0 --quiet --eve "$run.eve" 2>"$run.err" &
        pid=$!
        ready="capturing on" ;;
      tcpdump)
        ip netns exec "$NS" tcpdump -i lb -n -w /dev/null 2>"$run.err" &
        pid=$!
        ready="listening on" ;;
      suricata)
        mkdir -p "$run.log"
        # shellcheck disable=SC2086
        ip netns exec "$NS" "$VW_SURICATA" --af-packet=lb -l "$run.log" ${VW_SURICATA_ARGS:-} >"$run.err" 2>&1 &
        pid=$!
        ready="" ;;
      *) echo "live-load: unknown sensor $sensor"; exit 1 ;;
    esac
    if [ -n "$ready" ]; then
      wait_for "$run.err" "$ready" || { echo "live-load: $sensor did not start:"; cat "$run.err"; exit 1; }
    else
      sleep 10
    fi
    ip netns exec "$NS" tcpreplay -q -i la $speed --loop "$loops" "$pcap" >"$run.replay" 2>&1
    sleep 1
    cpu=$(cpu_of "$pid")
    kill -TERM "$pid"; wait "$pid" || true
    rate=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' "$run.replay" | head -1)
    sent=$(sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' "$run.replay" | head -1)
    per_m=$(awk -v c="$cpu" -v n="${sent:-0}" 'BEGIN { printf "%.2f", (n > 0 ? c * 1e6 / n : 0) }')
    case $sensor in
      tcpdump)
        kp=$(sed -n 's/^\([0-9]*\) packets received by filter.*/\1/p' "$run.err")
        kd=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$run.err")
        alerts=- lost=- ;;
      suricata)
        kp=- kd=-
        alerts=$(grep -c '"event_type":"alert"' "$run.log/eve.json" 2>/dev/null || true)
        lost=- ;;
      *)
        stats=$(grep '"event_type":"stats"' "$run.eve" | tail -1)
        kp=$(echo "$stats" | sed -n 's/.*"kernel_packets":\([0-9]*\).*/\1/p')
        kd=$(echo "$stats" | sed -n 's/.*"kernel_drops":\([0-9]*\).*/\1/p')
        alerts=$(grep -c '"event_type":"alert"' "$run.eve" || true)
        lost=$((expected - alerts)) ;;
    esac
    printf '%-9s %-12s %10s %9s %8s %12s %11s %9s %8s\n' \
      "$scenario" "$sensor" "$rate" "$sent" "$per_m" "$kp" "$kd" "$alerts" "$lost"
  done
  echo "# $scenario: $pcap x $loops, $expected alerts expected"
done
# For reference: `scan` of the mix file (page-cached), CPU seconds per 1M packets.
if [[ " $SCENARIOS " == *" paced "* || " $SCENARIOS " == *" topspeed "* ]] && [ -x /usr/bin/time ]; then
  n=$("$BIN" scan "$MIX" 2>&1 >/dev/null | sed -n 's/^  packets: \([0-9]*\).*/\1/p')
  cpu=$( { /usr/bin/time -f '%U %S' "$BIN" scan --quiet --workers 1 --suppress-window 0 "$MIX" --eve /dev/null; } 2>&1 | tail -1)
  awk -v c="$cpu" -v n="$n" 'BEGIN { split(c, t, " "); printf "# scan --workers 1 of the mix: %.2f s CPU per 1M packets\n", (t[1] + t[2]) * 1e6 / n }'
fi
