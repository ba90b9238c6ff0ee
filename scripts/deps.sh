#!/usr/bin/env bash
# Install the Debian packages vendorwatch needs, only those missing.
#   bash scripts/deps.sh build   # libpcap-dev: the binary links libpcap (live capture)
#   bash scripts/deps.sh test    # build + what the tests drive: dig, dnsmasq, curl, openssl,
#                                # ip, tcpreplay (live namespace test), tcpdump (the yardstick of
#                                # scripts/live-load.sh; DHCP identity namespace test), udhcpc
#                                # (DHCP identity namespace test), chromium (HTML report),
#                                # redis-server and rsyslog (network sinks), cargo-deb (package),
#                                # tansu (a Kafka-protocol broker for the Kafka tests: cargo
#                                # install, once, about 10-15 minutes on 2 cores, in ~/.cargo/bin)
# Tests whose tools still cannot be installed skip with a printed reason; a missing libpcap-dev
# is fatal, since nothing builds without it.
set -euo pipefail
what="${1:-build}"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

install() {
  [ "$#" -gt 0 ] || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: apt-get not found; install $* by hand" >&2
    return 1
  fi
  echo "deps: installing $*" >&2
  $SUDO apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

build=()
[ -e /usr/include/pcap/pcap.h ] || build+=(libpcap-dev)
# The `kafka` feature (on by default) compiles the librdkafka that rdkafka bundles: a C
# toolchain, make, and the headers of OpenSSL (TLS to brokers) and zlib.
command -v cc >/dev/null 2>&1 || build+=(gcc libc6-dev)
command -v make >/dev/null 2>&1 || build+=(make)
command -v pkg-config >/dev/null 2>&1 || build+=(pkg-config)
[ -e /usr/include/openssl/ssl.h ] || build+=(libssl-dev)
[ -e /usr/include/zlib.h ] || build+=(zlib1g-dev)
install "${build[@]}"

[ "$what" = test ] || exit 0

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done

optional=()
command -v dig >/dev/null 2>&1 || optional+=(dnsutils)
command -v dnsmasq >/dev/null 2>&1 || optional+=(dnsmasq)
command -v curl >/dev/null 2>&1 || optional+=(curl)
command -v openssl >/dev/null 2>&1 || optional+=(openssl)
command -v ip >/dev/null 2>&1 || optional+=(iproute2)
command -v tcpreplay >/dev/null 2>&1 || optional+=(tcpreplay)
command -v tcpdump >/dev/null 2>&1 || optional+=(tcpdump)
command -v udhcpc >/dev/null 2>&1 || optional+=(udhcpc)
command -v chromium >/dev/null 2>&1 || optional+=(chromium)
command -v redis-server >/dev/null 2>&1 || optional+=(redis-server)
command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || optional+=(rsyslog)
install "${optional[@]}" || echo "deps: could not install ${optional[*]}; the tests that need them will skip" >&2

# The package test (tests/deb_package.rs) builds the .deb with cargo-deb; installed once into
# ~/.cargo/bin (a few minutes to compile), then found there.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "deps: installing cargo-deb (Debian package test)" >&2
  cargo install cargo-deb --locked >/dev/null 2>&1 ||
    echo "deps: could not install cargo-deb; the package test will skip" >&2
fi

# tansu: the Kafka tests' broker. Built from crates.io once; a later run finds it in
# ~/.cargo/bin. A failed build leaves the Kafka tests to skip, with a printed reason.
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
if ! command -v tansu >/dev/null 2>&1; then
  echo "deps: building tansu (cargo install tansu --locked --features dynostore; 10-15 minutes, once)" >&2
  log="${TMPDIR:-/tmp}/deps-tansu-install.log"
  if ! cargo install tansu --locked --features dynostore >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "deps: could not install tansu (log: $log); the Kafka tests will skip" >&2
  fi
fi
