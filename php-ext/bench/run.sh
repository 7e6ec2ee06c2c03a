#!/usr/bin/env bash
# Benchmarks one broadcast from PHP (bench/trigger.php) against a local release
# `pushbus serve`. Not a test: it reports figures. Needs php-curl.
#   bash php-ext/bench/run.sh [--same-cpu] [--iterations=5000] [--warmup=500]
# --same-cpu runs the server and PHP on one CPU (taskset): on a virtual machine, where
# waking a process on another, idle vCPU costs its waker microseconds, this shows the
# cost of the code without that wake-up (for every row, curl's included).
set -euo pipefail
pin=()
if [ "${1:-}" = --same-cpu ]; then
  command -v taskset >/dev/null || { echo "--same-cpu needs taskset (util-linux)"; exit 1; }
  pin=(taskset -c 0)
  shift
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
php -m | grep -qx curl || { echo "php-curl is needed: apt-get install php-curl"; exit 1; }
cargo build --release -p pushbus-cli >&2
so=$(bash php-ext/scripts/build.sh release | tail -1)

dir=$(mktemp -d)
cat >"$dir/config.json" <<JSON
{"host": "127.0.0.1", "port": 0, "apps": [{"id": "bench", "key": "bench-key", "secret": "bench-secret"}]}
JSON
"${pin[@]}" target/release/pushbus serve --config "$dir/config.json" >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
port=""
for _ in $(seq 100); do # up to 10 s for the server to print its port
  port=$(grep -oE 'listening on http://127\.0\.0\.1:[0-9]+' "$dir/out" | grep -oE '[0-9]+$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "pushbus serve did not start:"; cat "$dir/err"; exit 1; }
echo "pushbus serve (release) on port $port; extension $so"
"${pin[@]}" php -d extension="$so" php-ext/bench/trigger.php --port="$port" "$@"
