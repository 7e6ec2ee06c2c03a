#!/usr/bin/env bash
# The history benchmarks of BENCHMARKS.md, in one run: the cost of history on the hot
# path (two `pushbus serve` side by side, one keeping every channel's last 100 events,
# one keeping none; the same fanout and latency workloads against each, twice,
# alternating), the memory of kept events (100,000 events of 100 B kept on one server,
# its RSS before and after), and 1,000 clients resuming at once after a drop.
#   bash scripts/bench-history.sh        # release build, about 2 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -j 2 -p pushbus-cli >/dev/null
B=./target/release/pushbus
source scripts/lib/bench-processes.sh
root=$PWD

for mode in off all keep resume; do
  python3 - "$mode" >"$work/$mode.json" <<'PY'
import json, sys
mode = sys.argv[1]
config = json.load(open("core/server/benches/bench-server.json"))
rules = {
    "off": [],
    "all": [{"channels": "*", "events": 100, "ttl": 120}],
    "keep": [{"channels": "bench-*", "events": 100000, "ttl": 3600}],
    "resume": [{"channels": "bench-history-*", "events": 1000, "ttl": 600}],
}[mode]
for app in config["apps"]:
    app["history"] = rules
    app["history_max_bytes"] = 256 << 20
print(json.dumps(config))
PY
done

serve() { serve_config "$@"; } # port, config
serve 8090 "$work/off.json"
OFF=$LAST
serve 8091 "$work/all.json"
ALL=$LAST
serve 8092 "$work/keep.json"
KEEP=$LAST
serve 8093 "$work/resume.json"
RESUME=$LAST
echo "history off pid $OFF on 8090, on for every channel $ALL on 8091; keep $KEEP on 8092; resume $RESUME on 8093"

FANOUT=(fanout --connections 1000 --channels 1 --events 500)
LATENCY=(fanout --connections 1000 --channels 100 --events 2000 --rate 200)
for round in 1 2; do
  run "fanout, history off ($round)" "${FANOUT[@]}" --port 8090 --server-pid "$OFF"
  run "fanout, history on ($round)" "${FANOUT[@]}" --port 8091 --server-pid "$ALL"
done
run "latency, history off" "${LATENCY[@]}" --port 8090 --server-pid "$OFF"
run "latency, history on" "${LATENCY[@]}" --port 8091 --server-pid "$ALL"
run "publish, history off" publish --events 20000 --publishers 4 --port 8090 --server-pid "$OFF"
run "publish, history on" publish --events 20000 --publishers 4 --port 8091 --server-pid "$ALL"

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
before=$(rss "$KEEP")
run "keep 100,000 events of 100 B" publish --events 100000 --size 100 --channels 1 --publishers 4 --port 8092 --server-pid "$KEEP"
after=$(rss "$KEEP")
echo "kept 100,000 events of 100 B: RSS ${before} KiB -> ${after} KiB: $(( (after - before) / 100 )) KiB per 1,000 events"
printf 'memory\t{"rss_before_kib":%s,"rss_after_kib":%s,"kib_per_1000_events":%s}\n' "$before" "$after" "$(( (after - before) / 100 ))" >>"$results"

run "resume: 1,000 clients, 10 channels, 100 missed each" resume --connections 1000 --channels 10 --events 100 --port 8093 --server-pid "$RESUME"

summary deliveries_per_s lost duplicates out_of_order latency_p50_us latency_p99_us \
  latency_p999_us server_cpu_us_per_delivery server_cpu_pct triggers_per_s \
  request_p99_us server_cpu_us_per_trigger rss_before_kib rss_after_kib \
  kib_per_1000_events replayed catch_up_ms server_cpu_us_per_replayed_event \
  server_rss_mib tool_cpu_s
