#!/usr/bin/env bash
# The history benchmarks of BENCHMARKS.md, in one run: the cost of history on the hot
# path (two `pushbus serve` side by side, one keeping every channel's last 100 events,
# one keeping none; the same fanout and latency workloads against each, twice,
# alternating; then the same on two clusters of three nodes on one Redis), the memory
# of kept events (100,000 events of 100 B kept on one server,
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
# Two clusters of three on one redis-server: history off, and on for every channel.
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
RPID=$!
pids+=("$RPID")
wait_port "$RPORT"
OFF_NODES=()
ON_NODES=()
for port in 8094 8095 8096; do
  serve_config "$port" "$work/off.json" REVERB_SCALING_ENABLED=true REDIS_PORT="$RPORT" REVERB_SCALING_CHANNEL=off
  OFF_NODES+=("$LAST")
done
for port in 8097 8098 8099; do
  serve_config "$port" "$work/all.json" REVERB_SCALING_ENABLED=true REDIS_PORT="$RPORT" REVERB_SCALING_CHANNEL=on
  ON_NODES+=("$LAST")
done
OFF_CLUSTER=$(IFS=,; echo "${OFF_NODES[*]},$RPID")
ON_CLUSTER=$(IFS=,; echo "${ON_NODES[*]},$RPID")
echo "history off pid $OFF on 8090, on for every channel $ALL on 8091; keep $KEEP on 8092; resume $RESUME on 8093"

FANOUT=(fanout --connections 1000 --channels 1 --events 500)
LATENCY=(fanout --connections 1000 --channels 100 --events 2000 --rate 200)
for round in 1 2; do
  run "fanout, history off ($round)" "${FANOUT[@]}" --port 8090 --server-pid "$OFF"
  run "fanout, history on ($round)" "${FANOUT[@]}" --port 8091 --server-pid "$ALL"
done
run "latency, history off" "${LATENCY[@]}" --port 8090 --server-pid "$OFF"
run "latency, history on" "${LATENCY[@]}" --port 8091 --server-pid "$ALL"
run "fanout, 3 nodes, history off" "${FANOUT[@]}" --port 8094,8095,8096 --publish-port 8094 --server-pid "$OFF_CLUSTER"
run "fanout, 3 nodes, history on" "${FANOUT[@]}" --port 8097,8098,8099 --publish-port 8097 --server-pid "$ON_CLUSTER"
run "latency, 3 nodes, history off" "${LATENCY[@]}" --port 8094,8095,8096 --publish-port 8094 --server-pid "$OFF_CLUSTER"
run "latency, 3 nodes, history on" "${LATENCY[@]}" --port 8097,8098,8099 --publish-port 8097 --server-pid "$ON_CLUSTER"
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
