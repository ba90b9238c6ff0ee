#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/deps.sh test), then formatting,
# lints, unit and integration tests. The corpus and schema tests skip with a printed reason
# when ../shared is absent, the network tests when their tools are or when not root.
# --nocapture shows the measured figures (corpus recall per tag, records validated per type,
# sink round trips).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked -- --nocapture
