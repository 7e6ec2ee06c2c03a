#!/usr/bin/env bash
# Runs every test of pushbus: formatting and lints, Rust unit and integration tests, the
# C library's tests (tests/c), the cross-language tests with the official pusher-js,
# laravel-echo and Pusher SDKs against the real `pushbus serve` binary, the npm
# package's tests (npm/), the PHP extension with the Laravel broadcaster (php-ext/), and
# every way of installing pushbus (tests/packaging). Installs what it needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

step() { printf '\n==> %s\n' "$*"; }

apt_install() {
  # Only for what is missing; CI machines run as root, developers may need sudo.
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

apt_install_no_start() {
  # apt_install, without letting the packages start their services: nginx's postinst fails
  # the installation when its start fails (an init system that cannot start it, port 80
  # taken). A policy-rc.d that forbids every action (exit 101) is Debian's way of saying
  # so, as Docker images do; one already there is left as it is.
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -e /usr/sbin/policy-rc.d ]; then
    apt_install "$@"
    return
  fi
  printf '#!/bin/sh\n# pushbus scripts/test.sh, for the length of one apt-get install\nexit 101\n' \
    | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod 755 /usr/sbin/policy-rc.d
  trap "$sudo rm -f /usr/sbin/policy-rc.d" EXIT
  local rc=0
  apt_install "$@" || rc=$?
  $sudo rm -f /usr/sbin/policy-rc.d
  trap - EXIT
  return "$rc"
}

step "tools"
command -v node >/dev/null || { echo "Node.js is required (see README)"; exit 1; }
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3 python3-venv
fi
# The cluster tests start their own redis-server on a free port.
command -v redis-server >/dev/null || apt_install redis-server
# The reverse-proxy test runs Debian's nginx and apache2 (in /usr/sbin) with the documented
# configs (docs/deploy), on free ports and temp dirs of its own: their services and default
# sites (port 80) play no part, and are not started.
[ -x /usr/sbin/nginx ] && [ -x /usr/sbin/apache2 ] || apt_install_no_start nginx apache2
# The https:// webhook test makes a throwaway CA and certificate.
command -v openssl >/dev/null || apt_install openssl
# The debug console's test drives Debian's chromium (playwright-core, no browser download).
[ -x /usr/bin/chromium ] || apt_install chromium
# The C library's tests: a C and a C++ compiler, valgrind.
if ! command -v cc >/dev/null || ! command -v c++ >/dev/null || ! command -v valgrind >/dev/null; then
  apt_install gcc g++ valgrind
fi

# Packaging (tests/packaging): the PECL tool, pkg-config, Composer.
if ! command -v pecl >/dev/null || ! command -v pkg-config >/dev/null || ! command -v composer >/dev/null; then
  apt_install php-pear pkgconf composer
fi

step "one version everywhere (scripts/version.sh check)"
bash scripts/version.sh check

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (unit, auth vectors, embedding API)"
cargo test --workspace

step "bounded fuzz run of the parsers (AFL++ via cargo-afl, scripts/fuzz.sh)"
bash scripts/fuzz.sh 30

step "build the pushbus binary"
cargo build -p pushbus-cli

step "npm ci (pusher-js, laravel-echo, pusher, ws)"
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)

step "Python pusher SDK"
if [ ! -x tests/python/.venv/bin/python ]; then
  python3 -m venv tests/python/.venv
fi
tests/python/.venv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt

step "C library: libpushbus, header drift, C tests with pusher-js, valgrind (tests/c/run.sh)"
bash tests/c/run.sh

step "integration tests against pushbus serve"
(cd tests/node && PUSHBUS_BIN="$root/target/debug/pushbus" npm test)

step "the same integration tests against a cluster of 3 pushbus serve on one redis-server"
(cd tests/node && PUSHBUS_BIN="$root/target/debug/pushbus" PUSHBUS_TEST_NODES=3 npm test)

step "npm package: install, build the addon (debug), check native.d.ts, test (npm/)"
# --ignore-scripts skips the `prepare` build, so that the build runs once, in check mode.
(cd npm && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts \
  && node scripts/build.js --check \
  && PUSHBUS_BIN="$root/target/debug/pushbus" npm test)

step "PHP: the extension (phpt, valgrind), the Laravel broadcaster, a Laravel app with Echo (php-ext/scripts/test.sh)"
bash php-ext/scripts/test.sh

step "packaging: cargo install, make install + pkg-config, npm tarballs without Rust, PECL, .deb, Composer (tests/packaging/run.sh)"
bash tests/packaging/run.sh
