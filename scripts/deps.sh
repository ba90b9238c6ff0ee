#!/usr/bin/env bash
# Install the Debian packages vendorwatch needs, only those missing.
#   bash scripts/deps.sh build   # libpcap-dev: the binary links libpcap (live capture)
#   bash scripts/deps.sh test    # build + what the tests drive: dig, dnsmasq, curl, openssl,
#                                # ip, tcpreplay (live namespace test), udhcpc and tcpdump
#                                # (DHCP identity namespace test), chromium (HTML report),
#                                # redis-server and rsyslog (network sinks), cargo-deb (package)
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
