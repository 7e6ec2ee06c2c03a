#!/usr/bin/env bash
# The cluster benchmarks of BENCHMARKS.md, in one run: one `pushbus serve` alone, and
# three on one redis-server (started here on a free port), each workload against the
# single node first and the cluster right after. Prints each run's table and, at the
# end, one line per run with the figures BENCHMARKS.md reports, and the Redis commands
# per published event (from INFO commandstats) at 100 and at 1,000 subscribers.
#   bash scripts/bench-cluster.sh        # release build, about 3 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -j 2 -p pushbus-cli >/dev/null
B=./target/release/pushbus
CONFIG=core/server/benches/bench-server.json
source scripts/lib/bench-processes.sh

RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
RPID=$!
pids+=("$RPID")
wait_port "$RPORT"

serve() { # port, then extra environment
  local port=$1
  shift
  serve_config "$port" "$root/$CONFIG" "$@"
}
root=$PWD
serve 8090
SINGLE=$LAST
NODES=()
for port in 8091 8092 8093; do
  serve "$port" REVERB_SCALING_ENABLED=true REDIS_PORT="$RPORT" REVERB_SCALING_CHANNEL=bench
  NODES+=("$LAST")
done
CLUSTER_PIDS=$(IFS=,; echo "${NODES[*]},$RPID")
echo "single node pid $SINGLE on 8090; cluster pids ${NODES[*]} on 8091-8093, redis-server pid $RPID on $RPORT"

commands() { redis-cli -p "$RPORT" info commandstats | tr -d '\r' | grep '^cmdstat_'; }

ONE=(--port 8090 --server-pid "$SINGLE")
ALL=(--port 8091,8092,8093 --publish-port 8091 --server-pid "$CLUSTER_PIDS")
CROSS=(--port 8092,8093 --publish-port 8091 --server-pid "$CLUSTER_PIDS")

FANOUT=(fanout --connections 1000 --channels 1 --events 500)
run "fanout, 1 node" "${FANOUT[@]}" "${ONE[@]}"
run "fanout, 3 nodes" "${FANOUT[@]}" "${ALL[@]}"
run "fanout, 3 nodes, subscribers off the publishing node" "${FANOUT[@]}" "${CROSS[@]}"

LATENCY=(fanout --connections 1000 --channels 100 --events 2000 --rate 200)
run "latency, 1 node" "${LATENCY[@]}" "${ONE[@]}"
commands >"$work/before"
run "latency, 3 nodes, subscribers off the publishing node" "${LATENCY[@]}" "${CROSS[@]}"
commands >"$work/after-1000"
run "latency, 3 nodes, 100 subscribers" fanout --connections 100 --channels 100 --events 2000 --rate 200 "${CROSS[@]}"
commands >"$work/after-100"
run "latency, 3 nodes" "${LATENCY[@]}" "${ALL[@]}"

run "presence, 1 node" presence --connections 1000 "${ONE[@]}"
run "presence, 3 nodes" presence --connections 1000 "${ALL[@]}"

echo
echo "=== summary"
python3 - "$results" "$work" <<'PY'
import json, sys
results, work = sys.argv[1], sys.argv[2]
keys = ["deliveries_per_s", "lost", "duplicates", "out_of_order", "latency_p50_us", "latency_p99_us",
        "latency_p999_us", "latency_max_us", "server_rss_mib", "server_cpu_us_per_delivery", "server_cpu_pct",
        "tool_cpu_s", "settle_ms", "member_added", "expected_member_added", "server_cpu_us_per_member_added"]
for line in open(results):
    label, _, js = line.rstrip("\n").partition("\t")
    try:
        r = json.loads(js)
    except ValueError:
        print(label, "(no JSON line)", js)
        continue
    print(f"{label}: " + ", ".join(f"{k} {r[k]:.4g}" if isinstance(r[k], float) else f"{k} {r[k]}" for k in keys if k in r))

def stats(path):
    out = {}
    for line in open(path):
        name, _, rest = line.partition(":")
        fields = dict(kv.split("=") for kv in rest.split(","))
        out[name.removeprefix("cmdstat_")] = int(fields["calls"])
    return out
before, mid, after = (stats(f"{work}/{n}") for n in ("before", "after-1000", "after-100"))
for label, a, b in (("1,000 subscribers", before, mid), ("100 subscribers", mid, after)):
    delta = {k: b.get(k, 0) - a.get(k, 0) for k in b if b.get(k, 0) != a.get(k, 0)}
    per = ", ".join(f"{k} {v / 2000:.3f}" for k, v in sorted(delta.items(), key=lambda kv: -kv[1]))
    print(f"Redis commands per published event, {label} (2,000 events, lease upkeep included): {per}")
PY
