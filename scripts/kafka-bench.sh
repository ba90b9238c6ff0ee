#!/usr/bin/env bash
# Kafka output figures against a local tansu broker (in-memory storage, 3 partitions):
#
#   1. throughput: scan time of a gen-mix capture (default 1M packets) with
#      `--log all --eve /dev/null` against `--log all --kafka`, and the records/s delivered
#      (acknowledged by the broker; counted again by an independent consumer);
#   2. a broker outage: the broker stopped for OUTAGE seconds (default 10) in the middle of a
#      `--log all --kafka` scan, then restarted. produced = delivered + dropped must hold
#      exactly, and (default queue) nothing is dropped. The in-memory broker forgets across a
#      restart, so the independent count is what the broker held when it was stopped (read
#      with the scan paused by SIGSTOP, so nothing is in flight) plus what the restarted one
#      holds at the end.
#
#   bash scripts/kafka-bench.sh [PACKETS] [OUTAGE_SECS]
#
# Needs tansu (scripts/deps.sh test installs it). Uses CARGO_TARGET_DIR (default target/);
# NO_BUILD=1 with VW=, KAFKA_COUNT= and MIX= runs binaries and a capture already made.
set -euo pipefail
cd "$(dirname "$0")/.."
packets="${1:-1000000}"
outage="${2:-10}"
target="${CARGO_TARGET_DIR:-target}"
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
command -v tansu >/dev/null || { echo "kafka-bench: tansu not installed (scripts/deps.sh test)" >&2; exit 1; }

[ -n "${NO_BUILD:-}" ] || cargo build --release --bin vendorwatch --example gen-mix --example kafka-count >&2
vw="${VW:-$target/release/vendorwatch}"
count="${KAFKA_COUNT:-$target/release/examples/kafka-count}"
mix="${MIX:-/tmp/vw-mix-$packets.pcap}"
[ -f "$mix" ] || "$target/release/examples/gen-mix" --packets "$packets" --out "$mix" >&2

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
brokers="127.0.0.1:$port"
broker_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

broker_up() {
  tansu broker --listener-url "tcp://$brokers" --advertised-listener-url "tcp://$brokers" \
    --storage-engine memory://tansu/ >>"$work/broker.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "kafka-bench: tansu did not start" >&2
  exit 1
}
broker_down() {
  kill "$broker_pid"
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}
topic() { tansu topic create "$1" --partitions 3 --broker "tcp://$brokers" >/dev/null; }
now() { date +%s.%N; }
field() { sed -n "s/.*output kafka.* $1 \([0-9]*\).*/\1/p" "$2"; }

broker_up
echo "mix: $mix ($(stat -c %s "$mix") bytes, $packets packets); broker tansu $(tansu --version 2>/dev/null | head -1) at $brokers"

# 1. Throughput: each run 3 times (the first also warms the page cache), the median quoted.
topic bench
runs() {
  local what="$1"
  shift
  local times=()
  for i in 1 2 3; do
    local a b
    a=$(now)
    "$vw" scan --log all "$@" "$mix" 2>"$work/$what.$i.err" || [ $? -eq 1 ]
    b=$(now)
    times+=("$(python3 -c "print($b - $a)")")
  done
  python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "${times[@]}"
}
sum() { python3 -c "import sys; print(sum(int(x) for x in sys.argv[1:]))" "$@"; }
t_eve=$(runs eve --eve /dev/null)
records=$(sed -n 's/.*eve records written: \([0-9]*\).*/\1/p' "$work/eve.3.err" | head -1)
t_kafka=$(runs kafka --kafka "$brokers" --kafka-topic bench --sink-drain 300)
produced=$(sum $(for i in 1 2 3; do field produced "$work/kafka.$i.err"; done))
delivered=$(sum $(for i in 1 2 3; do field delivered "$work/kafka.$i.err"; done))
read_back=$("$count" "$brokers" bench)
python3 -c '
import sys
te, tk, n, p = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) // 3
print(f"--log all --eve /dev/null: {te:.2f} s, median of 3 ({n} records)")
print(f"--log all --kafka:         {tk:.2f} s, median of 3 (x{tk / te:.2f}; the scan ends once every"
      f" record is acknowledged): {p} records each, {p / tk:,.0f} records/s delivered")
' "$t_eve" "$t_kafka" "$records" "$produced"
grep -h "output kafka" "$work"/kafka.*.err
echo "3 runs: produced $produced, delivered $delivered; read back by a consumer: $read_back"
[ "$read_back" = "$delivered" ] && [ "$produced" = "$delivered" ] || { echo "MISMATCH" >&2; exit 1; }

# 2. Outage mid-scan: the capture is fed through a pipe, its first half first; once the scan
# has read it and the broker acknowledged its records, the broker is stopped, the second half
# fed, and the broker restarted OUTAGE seconds later. tansu's in-memory storage forgets across
# a restart, so the independent count is what the broker held when it was stopped plus what the
# restarted one holds at the end. It also forgets the idempotent producer's state (a Kafka
# broker keeps it in the log), so the restarted broker refuses the idempotent producer
# (UNKNOWN_PRODUCER_ID, retried until the drain time ends): the lossless run turns idempotence
# off; the idempotent run shows the accounting stays exact when the broker refuses.
size=$(stat -c %s "$mix")
half_bytes=$((size / 2))
outage_run() {
  local label="$1" drain="$2" topic="outage-$1"
  shift 2
  topic "$topic"
  rm -f "$work/go" "$work/half"
  {
    head -c "$half_bytes" "$mix"
    touch "$work/half"
    while [ ! -e "$work/go" ]; do sleep 0.05; done
    tail -c +$((half_bytes + 1)) "$mix"
  } | "$vw" scan --log all --kafka "$brokers" --kafka-topic "$topic" --sink-drain "$drain" "$@" - \
    2>"$work/$topic.err" &
  local scan_pid=$!
  while [ ! -e "$work/half" ]; do sleep 0.05; done
  sleep 3
  local before after produced delivered dropped
  before=$("$count" "$brokers" "$topic")
  broker_down
  echo "[$label] broker stopped after half the capture, with $before records stored; outage ${outage}s"
  touch "$work/go"
  sleep "$outage"
  broker_up
  topic "$topic"
  wait "$scan_pid" || true
  after=$("$count" "$brokers" "$topic")
  grep "output kafka" "$work/$topic.err"
  produced=$(field produced "$work/$topic.err")
  delivered=$(field delivered "$work/$topic.err")
  dropped=$(field dropped "$work/$topic.err")
  echo "[$label] produced $produced = delivered $delivered + dropped $dropped:" \
    "$([ $((delivered + dropped)) -eq "$produced" ] && echo yes || echo NO)"
  echo "[$label] read by a consumer: $before before the stop + $after after the restart" \
    "= $((before + after)) (delivered $delivered)"
  [ $((delivered + dropped)) -eq "$produced" ] && [ $((before + after)) -eq "$delivered" ]
}
outage_run lossless 300 --kafka-option enable.idempotence=false
outage_run idempotent 20
