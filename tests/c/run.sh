#!/usr/bin/env bash
# The C library's checks: builds libpushbus, fails if include/pushbus.h differs from
# what the pinned cbindgen generates or if the .so exports anything but pushbus_*,
# compiles the header alone as C and C++, then builds and runs the C tests (against
# the shared library; test_fork against the static one) and runs them all again under
# valgrind. Needs: cc, c++, valgrind, redis-server (test_cluster), node, and `npm ci`
# done in tests/node (pusher-js).
# Called by scripts/test.sh; runs alone too: bash tests/c/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
CBINDGEN_VERSION=0.29.4
out=target/c-tests
lib=target/debug

step() { printf '\n==> %s\n' "$*"; }

step "cbindgen $CBINDGEN_VERSION"
if ! cbindgen --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
  cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
fi

step "build libpushbus (.so and .a) and the pushbus binary"
cargo build -p pushbus-c
cargo build -p pushbus-cli
mkdir -p "$out"

step "include/pushbus.h matches the code"
cbindgen --quiet --config bindings/c/cbindgen.toml --crate pushbus-c --output "$out/pushbus.h" bindings/c
if ! diff -u include/pushbus.h "$out/pushbus.h"; then
  echo "include/pushbus.h is out of date; regenerate it with:"
  echo "  cbindgen --config bindings/c/cbindgen.toml --crate pushbus-c --output include/pushbus.h bindings/c"
  exit 1
fi

step "libpushbus.so exports only pushbus_* symbols"
exported=$(nm -D --defined-only "$lib/libpushbus.so" | awk '{print $3}')
if grep -v '^pushbus_' <<<"$exported"; then
  echo "unexpected exported symbols (above)"
  exit 1
fi
echo "$(wc -l <<<"$exported") symbols, all pushbus_*"

step "libpushbus.so has the versioned SONAME"
soname=$(readelf -d "$lib/libpushbus.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
version=$(bash scripts/version.sh)
want=libpushbus.so.$(awk -F. '{ print ($1 == 0) ? "0." $2 : $1 }' <<<"$version")
if [ "$soname" != "$want" ]; then
  echo "SONAME is '$soname', expected $want for version $version"
  exit 1
fi
# Programs linked here record the SONAME: give the loader that name in target/ too.
ln -sf libpushbus.so "$lib/$soname"
echo "$soname"

step "the header alone, as C and as C++"
cc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c include/pushbus.h
c++ -std=c++11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ include/pushbus.h
echo "ok"

step "build the C tests (cc -Wall -Wextra -Werror)"
node tests/c/gen_vectors.mjs >"$out/vectors.h"
cflags=(-std=c99 -g -Wall -Wextra -Werror -Iinclude -I"$out")
shared=(-L"$lib" -lpushbus -Wl,-rpath,"$root/$lib" -lpthread)
for t in auth errors; do
  cc "${cflags[@]}" "tests/c/test_$t.c" -o "$out/test_$t" "${shared[@]}"
done
for t in server client cluster webhook_events user_status delivery_log history; do
  cc "${cflags[@]}" "tests/c/test_$t.c" tests/c/harness.c -o "$out/test_$t" "${shared[@]}"
done
# Static: the system libraries are what `rustc --print native-static-libs` lists.
cc "${cflags[@]}" tests/c/test_fork.c -o "$out/test_fork" "$lib/libpushbus.a" \
  -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
c++ -std=c++11 -g -Wall -Wextra -Werror -pedantic -Iinclude tests/c/test_cxx.cpp \
  -o "$out/test_cxx" "${shared[@]}"

# name, then the command line (relative to the repository root)
tests=(
  "test_auth|$out/test_auth"
  "test_errors|$out/test_errors"
  "test_server|$out/test_server tests/c/driver.mjs"
  "test_client|$out/test_client target/debug/pushbus tests/c/driver.mjs"
  "test_cluster|$out/test_cluster tests/c/driver.mjs"
  "test_webhook_events|$out/test_webhook_events tests/c/driver.mjs"
  "test_user_status|$out/test_user_status tests/c/driver.mjs"
  "test_delivery_log|$out/test_delivery_log tests/c/driver.mjs"
  "test_history|$out/test_history tests/c/driver.mjs"
  "test_fork|$out/test_fork"
  "test_fork_race|$out/test_fork --race"
  "test_cxx|$out/test_cxx"
)

passed=0
failed=0
status=0
# run LABEL WRAPPER... -- COMMAND...: runs one test program, adds up its checks.
run() {
  local label=$1 log="$out/$1.log"
  shift
  if "$@" >"$log" 2>&1; then
    printf 'ok      %s\n' "$label"
  else
    printf 'FAILED  %s (exit %s); its output:\n' "$label" "$?"
    cat "$log"
    status=1
    failed=$((failed + 1))
  fi
  local p f
  p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p))
  failed=$((failed + f))
}

step "C tests"
for entry in "${tests[@]}"; do
  name=${entry%%|*}
  read -ra cmd <<<"${entry#*|}"
  run "$name" "${cmd[@]}"
done

step "C tests under valgrind (memcheck: no invalid access, no definite leak)"
valgrind=(valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite
  --errors-for-leak-kinds=definite)
for entry in "${tests[@]}"; do
  name=${entry%%|*}
  read -ra cmd <<<"${entry#*|}"
  [ "$name" = test_fork_race ] && continue # about timing, not memory
  extra=()
  # A forked child cannot free what the parent's runtime threads own (see fork.supp).
  [ "$name" = test_fork ] && extra=(--suppressions=tests/c/fork.supp)
  run "$name.valgrind" "${valgrind[@]}" "${extra[@]}" "${cmd[@]}"
done

echo
echo "c: $passed passed, $failed failed"
exit $status
