#!/usr/bin/env bash
# Every check of the PHP side: installs what is missing from Debian (php-dev, php-cli,
# php-parser for the arginfo generator, phpunit, php-laravel-framework, php-sqlite3,
# valgrind), then
#   1. pushbus_arginfo.h is what gen_stub.php makes of pushbus.stub.php;
#   2. builds libpushbus.a, the pushbus binary and the extension (debug);
#   3. the phpt tests, then all of them again under valgrind;
#   4. the broadcaster's PHPUnit tests (php-ext/laravel/tests);
#   5. the Laravel application of tests/laravel with Laravel Echo in Node.
# Called by scripts/test.sh; runs alone too: bash php-ext/scripts/test.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

step() { printf '\n==> %s\n' "$*"; }

apt_install() {
  # Only for what is missing; CI machines run as root, developers may need sudo.
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

step "Debian packages for PHP"
need=()
command -v php >/dev/null || need+=(php-cli)
command -v phpize >/dev/null || need+=(php-dev)
[ -d /usr/share/php/PhpParser ] || need+=(php-parser)
command -v phpunit >/dev/null || need+=(phpunit)
[ -f /usr/share/php/Illuminate/autoload.php ] || need+=(php-laravel-framework)
php -m 2>/dev/null | grep -qx pdo_sqlite || need+=(php-sqlite3)
php -m 2>/dev/null | grep -qx mbstring || need+=(php-mbstring)
php -m 2>/dev/null | grep -qx dom || need+=(php-xml)
command -v valgrind >/dev/null || need+=(valgrind)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt_install "${need[@]}"
fi
php --version | head -1

step "php-ext/pushbus_arginfo.h matches pushbus.stub.php"
bash php-ext/scripts/gen-arginfo.sh --check

step "build libpushbus.a, pushbus and the extension"
cargo build -p pushbus-cli
so=$(bash php-ext/scripts/build.sh | tail -1)
echo "$so"

step "phpt tests"
bash php-ext/scripts/phpt.sh

step "phpt tests under valgrind (USE_ZEND_ALLOC=0; no invalid access, no definite leak)"
bash php-ext/scripts/phpt.sh -m

step "the Laravel broadcaster: PHPUnit"
(cd php-ext/laravel && PUSHBUS_ROOT="$root" php -d extension="$so" "$(command -v phpunit)")

step "a Laravel 8 app with Laravel Echo: pushbus:start, php -S, /broadcasting/auth (tests/laravel)"
(cd tests/laravel && npm ci --no-audit --no-fund --loglevel=error && PUSHBUS_PHP_EXT="$so" npm test)
