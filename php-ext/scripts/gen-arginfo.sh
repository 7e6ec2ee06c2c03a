#!/usr/bin/env bash
# Generates pushbus_arginfo.h from pushbus.stub.php with PHP's own gen_stub.php (from
# php-dev). gen_stub.php wants PHP-Parser 4.15 next to itself and would download it;
# Debian's php-parser package is used instead, through a temporary directory.
#   bash php-ext/scripts/gen-arginfo.sh           # regenerate php-ext/pushbus_arginfo.h
#   bash php-ext/scripts/gen-arginfo.sh --check   # fail if the committed file differs
set -euo pipefail
ext="$(cd "$(dirname "$0")/.." && pwd)"
gen_stub="$(php-config --extension-dir)/build/gen_stub.php"
parser=/usr/share/php/PhpParser
[ -d "$parser" ] || { echo "PHP-Parser not found at $parser (apt-get install php-parser)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(grep -oE '\$version = "[0-9.]+"' "$gen_stub" | grep -oE '[0-9.]+')
cp "$gen_stub" "$tmp/gen_stub.php"
mkdir -p "$tmp/PHP-Parser-$version/lib"
ln -s "$parser" "$tmp/PHP-Parser-$version/lib/PhpParser"
cp "$ext/pushbus.stub.php" "$tmp/pushbus.stub.php"
php "$tmp/gen_stub.php" --force-regeneration "$tmp/pushbus.stub.php" >/dev/null

if [ "${1:-}" = --check ]; then
  if ! diff -u "$ext/pushbus_arginfo.h" "$tmp/pushbus_arginfo.h"; then
    echo "php-ext/pushbus_arginfo.h is out of date: run bash php-ext/scripts/gen-arginfo.sh"
    exit 1
  fi
  echo "pushbus_arginfo.h matches pushbus.stub.php"
else
  cp "$tmp/pushbus_arginfo.h" "$ext/pushbus_arginfo.h"
  echo "wrote php-ext/pushbus_arginfo.h"
fi
