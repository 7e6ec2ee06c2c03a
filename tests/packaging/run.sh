#!/usr/bin/env bash
# Every way users install pushbus, each installed into a temporary place and used:
#   version   scripts/version.sh check: one version in every file that carries it
#   server    cargo install --path core/cli: `pushbus --version`
#   c         tests/packaging/c.sh: make install, pkg-config, a program runs
#   npm       tests/packaging/npm.sh: the tarballs in a project without cargo or rustc
#   php       tests/packaging/php.sh: PECL tarball (phpize, pecl install), Debian package
#   laravel   tests/packaging/laravel.sh: composer path repository, package discovery
# Each face reports the version (the C program, phpversion('pushbus'), the npm package's
# `version`, `pushbus --version`); every one must equal Cargo.toml's.
#   bash tests/packaging/run.sh      (PUSHBUS_PACKAGE_PROFILE=debug: debug builds)
# Needs what scripts/test.sh installs, plus php-pear, pkg-config, composer, dpkg-deb and
# root or sudo (the Debian package is installed, then purged).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
profile=${PUSHBUS_PACKAGE_PROFILE:-release}
export PUSHBUS_PACKAGE_PROFILE=$profile
step() { printf '\n==> %s\n' "$*"; }

step "one version"
bash scripts/version.sh check
version=$(bash scripts/version.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "server: cargo install --path core/cli ($profile)"
flags=()
[ "$profile" = debug ] && flags=(--debug)
cargo install -q --locked --path core/cli --root "$work/cargo" --target-dir "$root/target" "${flags[@]}"
got=$("$work/cargo/bin/pushbus" --version)
[ "$got" = "pushbus $version" ] || { echo "pushbus --version says '$got'"; exit 1; }
echo "$got"

step "C library"
bash tests/packaging/c.sh | tee "$work/c.log"
step "npm packages"
bash tests/packaging/npm.sh | tee "$work/npm.log"
step "PHP extension"
bash tests/packaging/php.sh | tee "$work/php.log"
step "Laravel package"
bash tests/packaging/laravel.sh

step "every face reports $version"
grep -q "c packaging: ok (version $version)" "$work/c.log"
grep -q "php packaging: ok (version $version)" "$work/php.log"
grep -q "npm packaging: ok (version $version," "$work/npm.log" \
  || { echo "npm.sh did not report version $version"; exit 1; }
echo "pushbus binary, C library, npm package, PHP extension: $version"
