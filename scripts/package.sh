#!/usr/bin/env bash
# Build the Debian package: a release build, the man pages and shell completions generated
# from the command line's definition (`vendorwatch gen-dist`), then `cargo deb` over them.
#   bash scripts/package.sh            # -> target/debian/vendorwatch_<version>-1_<arch>.deb
# Installs cargo-deb (`cargo install cargo-deb --locked`) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if ! cargo deb --version >/dev/null 2>&1; then
  echo "package: installing cargo-deb" >&2
  cargo install cargo-deb --locked
fi
cargo build --release --locked
rm -rf "$target/release/dist"
"$target/release/vendorwatch" gen-dist "$target/release/dist"
cargo deb --no-build --locked --output "$target/debian" "$@"
