#!/usr/bin/env bash
# Runs the phpt tests (all, or those named) against the debug build, from a copy in
# target/php-ext/tests so that run-tests.php leaves nothing in the source tree.
#   bash php-ext/scripts/phpt.sh [-m] [tests/NAME.phpt ...]    (-m: under valgrind)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
so=$(bash "$root/php-ext/scripts/build.sh" | tail -1)
valgrind=()
jit=()
if [ "${1:-}" = -m ]; then
  # run-tests.php -m runs each test under valgrind memcheck with USE_ZEND_ALLOC=0 and
  # fails it on any report (a .mem file). Leaks count when definite. The suppressions
  # are the C tests' fork ones: a forked child cannot free what its parent's runtime
  # threads own. Children started by exec (pushbus serve, a php helper) are not traced.
  valgrind=(-m)
  export VALGRIND_OPTS="--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
--suppressions=$root/tests/c/fork.supp --trace-children-skip=*/pushbus,*/php*"
  # PCRE's JIT code (preg_* in the test helpers) is a known source of false reports.
  jit=(-d pcre.jit=0)
  shift
fi
work="$root/target/php-ext/tests"
rm -rf "$work"
cp -r "$root/php-ext/tests" "$work"
sel=()
for t in "$@"; do sel+=("$work/${t#tests/}"); done
[ ${#sel[@]} -gt 0 ] || sel=("$work")
export PUSHBUS_ROOT="$root" PUSHBUS_BIN="${PUSHBUS_BIN:-$root/target/debug/pushbus}"
export NO_INTERACTION=1 REPORT_EXIT_STATUS=1
# -n: no php.ini (only what the tests need is loaded); -P: this php binary.
set +e
php "$(php-config --extension-dir)/build/run-tests.php" -n -P -q --show-diff "${valgrind[@]}" \
  -d extension="$so" -d extension=posix "${jit[@]}" "${sel[@]}"
status=$?
set -e
exit $status
