#!/usr/bin/env bash
# The user-status benchmarks of BENCHMARKS.md, in one run: what the delivery log costs
# on the hot path (three `pushbus serve` side by side: log off, digests (the default),
# payloads; the same fanout and latency workloads against each, twice), what watchlists
# cost where they act (sign-in, with 0 or 100 watched ids), and the latency of user
# status queries with 10,000 connections signed in as 1,000 users, on one node and on
# three nodes on one redis-server (started here on a free port).
#   bash scripts/bench-users.sh        # release build, about 4 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -j 2 -p pushbus-cli >/dev/null
B=./target/release/pushbus
source scripts/lib/bench-processes.sh
root=$PWD

# One config per delivery-log setting, from the benchmark config.
for mode in off digest payload; do
  python3 - "$mode" >"$work/$mode.json" <<'PY'
import json, sys
mode = sys.argv[1]
config = json.load(open("core/server/benches/bench-server.json"))
log = {"off": {"size": 0}, "digest": {}, "payload": {"payloads": "payload"}}[mode]
for app in config["apps"]:
    app["delivery_log"] = log
print(json.dumps(config))
PY
done

RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
RPID=$!
pids+=("$RPID")
wait_port "$RPORT"

serve() { serve_config "$@"; } # port, config, then extra environment
serve 8090 "$work/off.json"
OFF=$LAST
serve 8091 "$work/digest.json"
DIGEST=$LAST
serve 8092 "$work/payload.json"
PAYLOAD=$LAST
NODES=()
for port in 8093 8094 8095; do
  serve "$port" "$work/digest.json" REVERB_SCALING_ENABLED=true REDIS_PORT="$RPORT" REVERB_SCALING_CHANNEL=bench
  NODES+=("$LAST")
done
CLUSTER_PIDS=$(IFS=,; echo "${NODES[*]},$RPID")
echo "log off pid $OFF on 8090, digests $DIGEST on 8091, payloads $PAYLOAD on 8092; cluster ${NODES[*]} on 8093-8095, redis $RPID on $RPORT"

FANOUT=(fanout --connections 1000 --channels 1 --events 500)
LATENCY=(fanout --connections 1000 --channels 100 --events 2000 --rate 200)
for round in 1 2; do
  run "fanout, log off ($round)" "${FANOUT[@]}" --port 8090 --server-pid "$OFF"
  run "fanout, log digests ($round)" "${FANOUT[@]}" --port 8091 --server-pid "$DIGEST"
  run "fanout, log payloads ($round)" "${FANOUT[@]}" --port 8092 --server-pid "$PAYLOAD"
done
run "latency, log off" "${LATENCY[@]}" --port 8090 --server-pid "$OFF"
run "latency, log digests" "${LATENCY[@]}" --port 8091 --server-pid "$DIGEST"
run "latency, log payloads" "${LATENCY[@]}" --port 8092 --server-pid "$PAYLOAD"
run "publish, log off" publish --events 20000 --publishers 4 --port 8090 --server-pid "$OFF"
run "publish, log digests" publish --events 20000 --publishers 4 --port 8091 --server-pid "$DIGEST"

USERS=(users --connections 10000 --users 1000 --events 10000 --publishers 4)
run "users, watchlist 0, 1 node" "${USERS[@]}" --watchlist 0 --port 8090 --server-pid "$OFF"
run "users, watchlist 100, 1 node" "${USERS[@]}" --watchlist 100 --port 8091 --server-pid "$DIGEST"
run "users, watchlist 0, 3 nodes" "${USERS[@]}" --watchlist 0 --port 8093,8094,8095 --publish-port 8093 --server-pid "$CLUSTER_PIDS"

summary deliveries_per_s lost duplicates out_of_order latency_p50_us latency_p99_us \
  latency_p999_us server_cpu_us_per_delivery server_cpu_pct triggers_per_s \
  request_p50_us request_p99_us server_cpu_us_per_trigger signins_per_s \
  server_cpu_us_per_signin queries_per_s status_p50_us status_p99_us wrong_answers \
  server_cpu_us_per_query listed_users page_p50_us page_p99_us server_rss_mib \
  tool_cpu_s
