#!/usr/bin/env bash
# The webhook benchmark of BENCHMARKS.md, in one run: the churn workload (1,000 steady
# subscribers over 100 channels getting 200 events/s while 1,000 other connections
# each join and leave a presence channel about once a second: 1,000 presence joins and
# 1,000 leaves per second) against three servers in turn: without webhooks, with
# webhooks to a sink (Pusher's 3 s delay, so a rejoin within it sends nothing), and
# with webhooks and no delay (every join and leave sent). Then memory while the
# receiver is down for 60 s. Prints each run's table and a summary.
#   bash scripts/bench-webhooks.sh        # release build, about 3 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cargo build --release -j 2 -p pushbus-cli >/dev/null 2>&1
B=$root/target/release/pushbus
source scripts/lib/bench-processes.sh
config() { # file, webhook url or '', delay
  python3 - "$@" <<'PY'
import json, sys
path, url, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
app = {"id": "pushbus-dev", "key": "pushbus-dev-key", "secret": "pushbus-dev-secret",
       "max_presence_members": 2000, "client_event_rate": 100}
if url:
    app["webhooks"] = [{"url": url}]
    app["webhook_options"] = {"delay": delay}
json.dump({"host": "127.0.0.1", "port": 8090, "apps": [app]}, open(path, "w"))
PY
}
serve() { # config file; sets PID
  (cd "$work" && exec env -u REVERB_APP_ID -u REVERB_APP_KEY -u REVERB_APP_SECRET "$B" serve --config "$1" >>"$work/serve.log" 2>&1) &
  PID=$!
  pids+=("$PID")
  wait_port 8090
}
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }
sink() { # port; sets SINK
  node "$root/scripts/webhook-sink.mjs" "$1" >"$work/sink-$1.out" &
  SINK=$!
  pids+=("$SINK")
  wait_port "$1"
}
CHURN=(churn --port 8090 --connections 1000 --channels 100 --churners 1000 --churn-rate 1000 --rate 200 --duration 10)

config "$work/off.json" "" 0
config "$work/on.json" "http://127.0.0.1:8071/hooks" 3
config "$work/nodelay.json" "http://127.0.0.1:8072/hooks" 0
config "$work/down.json" "http://127.0.0.1:8079/hooks" 0

serve "$work/off.json"
run "webhooks off" "${CHURN[@]}" --server-pid "$PID"
stop "$PID"

sink 8071
serve "$work/on.json"
run "webhooks on (3 s delay)" "${CHURN[@]}" --server-pid "$PID"
stop "$PID"
kill -TERM "$SINK"; wait "$SINK" 2>/dev/null || true

sink 8072
serve "$work/nodelay.json"
run "webhooks on, no delay" "${CHURN[@]}" --server-pid "$PID"
stop "$PID"
kill -TERM "$SINK"; wait "$SINK" 2>/dev/null || true

# Nothing listens on 8079: every request is refused, retried with back-off, queued.
serve "$work/down.json"
run "webhooks (no delay) to a receiver that is down for the whole run: 30 s calm, 30 s churn" churn --port 8090 --connections 1000 --channels 100 --churners 1000 --churn-rate 1000 --rate 200 --duration 30 --server-pid "$PID"
grep -c "events dropped" "$work/serve.log" | sed 's/^/log lines about dropped webhook events: /'
stop "$PID"

echo
echo "=== summary"
for s in 8071 8072; do echo "sink $s: $(tail -n 1 "$work/sink-$s.out")"; done
python3 - "$results" <<'PY'
import json, sys
keys = ["churn_cycles_per_s", "churn_errors", "lost", "calm_latency_p99_us", "churn_latency_p50_us",
        "churn_latency_p99_us", "churn_latency_p999_us", "server_cpu_pct", "server_rss_mib", "tool_cpu_s"]
for line in open(sys.argv[1]):
    label, _, js = line.rstrip("\n").partition("\t")
    r = json.loads(js)
    print(f"{label}: " + ", ".join(f"{k} {r[k]:.4g}" if isinstance(r[k], float) else f"{k} {r[k]}" for k in keys if k in r))
PY
