#!/usr/bin/env bash
# The PHP extension as users install it:
#   1. the PECL source package builds with phpize in a clean directory, against the C
#      library installed under a prefix (pkg-config pushbus), and its tests pass; then
#      `pecl install` takes the same tarball (and `pecl uninstall` removes it);
#   2. the Debian package installs with dpkg -i: `php -m` lists pushbus, Pushbus\Auth
#      signs the Pusher docs' vector, phpversion('pushbus') is the version; then it is
#      purged and php no longer loads it.
# Step 2 changes the system's PHP: it needs root (or sudo) and always purges on exit.
#   bash tests/packaging/php.sh   (PUSHBUS_PACKAGE_PROFILE=debug: debug builds, quicker)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
profile=${PUSHBUS_PACKAGE_PROFILE:-release}
version=$(bash scripts/version.sh)
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
work=$(mktemp -d)
package=""
cleanup() {
  if pecl list 2>/dev/null | grep -q '^pushbus '; then
    $sudo pecl uninstall pushbus >/dev/null 2>&1 || true
  fi
  if [ -n "$package" ] && dpkg -s "$package" >/dev/null 2>&1; then
    $sudo dpkg -P "$package" >/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The Pusher docs' worked example (tests/fixtures/vectors.json has it too).
sign='echo Pushbus\Auth::authorizeChannel("278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234", "private-foobar");'
want_auth='{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}'

echo "== PECL source package"
tgz=$(bash php-ext/scripts/pecl-package.sh | tail -1)
make -s -C bindings/c install PREFIX="$work/prefix" PROFILE="$profile"
mkdir "$work/pecl"
tar xzf "$tgz" -C "$work/pecl"
src=$work/pecl/pushbus-$version
(cd "$src" && phpize >/dev/null && PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" ./configure -q \
  && make -s -j"${CARGO_BUILD_JOBS:-2}") >"$work/pecl.log" 2>&1 || { cat "$work/pecl.log"; exit 1; }
grep -q "libpushbus with pkg-config... $version in $work/prefix" "$src/config.log" \
  || grep -q "$work/prefix/lib/libpushbus.a" "$src/Makefile" \
  || { echo "the PECL build did not use the installed libpushbus"; exit 1; }
got=$(php -n -d extension="$src/modules/pushbus.so" -r 'echo phpversion("pushbus");')
[ "$got" = "$version" ] || { echo "PECL build: phpversion('pushbus') is '$got', expected $version"; exit 1; }
got=$(php -n -d extension="$src/modules/pushbus.so" -r "$sign")
[ "$got" = "$want_auth" ] || { echo "PECL build signs '$got'"; exit 1; }
(cd "$src" && NO_INTERACTION=1 REPORT_EXIT_STATUS=1 make -s test TESTS="-q tests" >"$work/phpt.log" 2>&1) \
  || { cat "$work/phpt.log"; exit 1; }
grep -q "Tests passed *: *2" "$work/phpt.log" || { cat "$work/phpt.log"; echo "the package's 2 tests did not pass"; exit 1; }
echo "PECL: builds with phpize against pkg-config pushbus, phpversion $version, its tests pass"
$sudo env PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pecl install "$tgz" >"$work/pecl-install.log" 2>&1 \
  || { cat "$work/pecl-install.log"; exit 1; }
ext_so=$(php-config --extension-dir)/pushbus.so
got=$(php -n -d extension=pushbus -r 'echo phpversion("pushbus");')
[ "$got" = "$version" ] || { echo "after pecl install: phpversion('pushbus') is '$got'"; exit 1; }
$sudo pecl uninstall pushbus >/dev/null
[ ! -e "$ext_so" ] || { echo "pecl uninstall left $ext_so"; exit 1; }
echo "PECL: pecl install builds and installs $ext_so, pecl uninstall removes it"

echo "== Debian package"
deb=$(bash php-ext/scripts/deb-package.sh "$profile" | tail -1)
package=$(dpkg-deb -f "$deb" Package)
if php -m | grep -qx pushbus; then
  echo "pushbus is already loaded by this machine's php; the test needs a php without it"
  exit 1
fi
$sudo dpkg -i "$deb" >/dev/null
php -m | grep -qx pushbus || { echo "php -m does not list pushbus after dpkg -i"; exit 1; }
got=$(php -r "$sign")
[ "$got" = "$want_auth" ] || { echo "installed extension signs '$got'"; exit 1; }
got=$(php -r 'echo phpversion("pushbus"), " ", Pushbus\version();')
[ "$got" = "$version $version" ] || { echo "installed: versions '$got', expected $version"; exit 1; }
$sudo dpkg -P "$package" >/dev/null
if php -m | grep -qx pushbus; then
  echo "php still loads pushbus after dpkg -P"
  exit 1
fi
echo "deb: $(basename "$deb") ($(du -h "$deb" | cut -f1)) installs, php -m lists pushbus, signs the docs' vector, purges cleanly"
echo "php packaging: ok (version $version)"
