#!/usr/bin/env bash
# The main job on the bundled sample captures: install libpcap-dev if missing, build, and scan
# pcaps/ (EVE alerts on stdout, the summary with the per-host table on stderr). Extra
# arguments go to `vendorwatch scan`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
exec cargo run --release --locked -- scan "$@" pcaps/
