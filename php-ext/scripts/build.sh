#!/usr/bin/env bash
# Builds the extension out of tree, in target/php-ext/<profile>, against
# target/<profile>/libpushbus.a (built here with cargo), and prints the path of the
# resulting pushbus.so on its last line.
#   bash php-ext/scripts/build.sh            # debug (what the tests use)
#   bash php-ext/scripts/build.sh release    # release (what the benchmark uses)
# Needs php-dev (phpize, php-config) and cargo.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
profile=${1:-debug}
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cd "$root"
if [ "$profile" = release ]; then
  cargo build --release -p pushbus-c >&2
else
  cargo build -p pushbus-c >&2
fi
lib="$root/target/$profile/libpushbus.a"
build="$root/target/php-ext/$profile"
mkdir -p "$build"
# Rebuild from a clean copy when a source changed (phpize's tree lives in $build).
stamp="$build/.sources"
sums=$(cd php-ext && cat config.m4 ./*.c ./*.h "$root/include/pushbus.h" | sha256sum)
if [ ! -f "$build/modules/pushbus.so" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sums" ] \
  || [ "$lib" -nt "$build/modules/pushbus.so" ]; then
  rm -rf "$build"
  mkdir -p "$build"
  cp php-ext/config.m4 php-ext/*.c php-ext/*.h "$build/"
  (cd "$build" && phpize >/dev/null && ./configure -q --with-pushbus="$root" --with-pushbus-lib="$lib" >&2 \
    && make -s -j"${CARGO_BUILD_JOBS}" >&2)
  echo "$sums" >"$stamp"
fi
echo "$build/modules/pushbus.so"
