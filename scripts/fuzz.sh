#!/usr/bin/env bash
# A bounded fuzz run of every parser of outside input (core/fuzz/src/parsers.rs) with
# AFL++ through cargo-afl, which works with the stable toolchain. Installs cargo-afl when
# missing. Fails when the fuzzer saves a crash or a hang; a machine that cannot run
# AFL++ at all (no shared memory, no compiler for its runtime) is reported and skipped.
#
#   scripts/fuzz.sh [seconds]        (default 30; FUZZ_SECONDS works too)
set -euo pipefail
cd "$(dirname "$0")/../core/fuzz"
seconds="${1:-${FUZZ_SECONDS:-30}}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

skip() { echo "fuzz run skipped: $*"; exit 0; }

if ! cargo afl --version >/dev/null 2>&1; then
  cargo install --quiet cargo-afl --version '^0.18' || skip "cargo-afl could not be installed"
fi
# Its AFL++ runtime is built once per rustc; an existing one is kept.
cargo afl config --build >/dev/null 2>&1 || true
cargo afl build --release --quiet || skip "the fuzz target did not build with cargo-afl"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
  timeout $((seconds + 60)) cargo afl fuzz -i seeds -o "$out" -V "$seconds" \
  target/release/parsers >"$out/log" 2>&1 || {
    tail -20 "$out/log"
    # afl-fuzz also stops when a seed crashes: that is a finding, not the machine.
    for seed in seeds/*; do
      target/release/parsers <"$seed" >/dev/null 2>&1 || { echo "seed $seed crashes the parsers"; exit 1; }
    done
    skip "afl-fuzz could not run here"
  }
stats="$out/default/fuzzer_stats"
[ -f "$stats" ] || skip "afl-fuzz wrote no statistics"
get() { awk -F: -v k="$1" '$1 ~ "^"k" *$" {gsub(/ /, "", $2); print $2}' "$stats"; }
echo "fuzzed ${seconds} s: $(get execs_done) inputs ($(get execs_per_sec)/s), corpus $(get corpus_count), crashes $(get saved_crashes), hangs $(get saved_hangs)"
if [ "$(get saved_crashes)" != 0 ] || [ "$(get saved_hangs)" != 0 ]; then
  mkdir -p out && cp -r "$out/default/crashes" "$out/default/hangs" out/
  echo "inputs kept in core/fuzz/out/; replay one with: core/fuzz/target/release/parsers < FILE"
  exit 1
fi
