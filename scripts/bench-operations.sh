#!/usr/bin/env bash
# The operations benchmarks of BENCHMARKS.md, in one run: what Prometheus metrics and
# TLS cost on the hot path. Four `pushbus serve` side by side, started from the same
# config: plain; plain with metrics on (scraped every second meanwhile, as Prometheus
# would); TLS (a certificate made here with openssl, trusted by the load tool through
# SSL_CERT_FILE). Memory per idle connection is measured first, on fresh servers.
#   bash scripts/bench-operations.sh        # release build, about 3 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -j 2 -p pushbus-cli >/dev/null
B=./target/release/pushbus
CONFIG=core/server/benches/bench-server.json
source scripts/lib/bench-processes.sh
root=$PWD

# A CA and a certificate for 127.0.0.1 (as tests/node/lib/certs.js makes them).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 1 -subj '/CN=bench CA' 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/server.key" -out "$work/server.csr" -subj '/CN=127.0.0.1' 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -out "$work/server.pem" -days 1 -extfile "$work/ext.cnf" 2>/dev/null
export SSL_CERT_FILE="$work/ca.pem"

serve() { # port, then extra environment
  local port=$1
  shift
  serve_config "$port" "$root/$CONFIG" "$@"
}
serve 8090
PLAIN=$LAST
serve 8091 PUSHBUS_METRICS=true PUSHBUS_METRICS_TOKEN=bench-token
METRICS=$LAST
serve 8092 PUSHBUS_TLS_CERT="$work/server.pem" PUSHBUS_TLS_KEY="$work/server.key"
TLS=$LAST
echo "plain pid $PLAIN on 8090, metrics pid $METRICS on 8091, TLS pid $TLS on 8092"

# Prometheus's part: one scrape a second, for as long as the script runs.
(while :; do
  curl -s -o /dev/null -H 'Authorization: Bearer bench-token' http://127.0.0.1:8091/metrics || true
  sleep 1
done) &
pids+=("$!")

PLAIN_ARGS=(--port 8090 --server-pid "$PLAIN")
METRICS_ARGS=(--port 8091 --server-pid "$METRICS")
TLS_ARGS=(--tls --port 8092 --server-pid "$TLS")

IDLE=(idle --connections 10000 --channels 100 --duration 5)
run "idle, ws" "${IDLE[@]}" "${PLAIN_ARGS[@]}"
run "idle, wss" "${IDLE[@]}" "${TLS_ARGS[@]}"

FANOUT=(fanout --connections 1000 --channels 1 --events 500)
LATENCY=(fanout --connections 1000 --channels 100 --events 2000 --rate 200)
for round in 1 2; do
  run "fanout, metrics off ($round)" "${FANOUT[@]}" "${PLAIN_ARGS[@]}"
  run "fanout, metrics on ($round)" "${FANOUT[@]}" "${METRICS_ARGS[@]}"
done
run "latency, metrics off" "${LATENCY[@]}" "${PLAIN_ARGS[@]}"
run "latency, metrics on" "${LATENCY[@]}" "${METRICS_ARGS[@]}"
run "fanout, wss" "${FANOUT[@]}" "${TLS_ARGS[@]}"
run "latency, wss" "${LATENCY[@]}" "${TLS_ARGS[@]}"

summary deliveries_per_s lost duplicates out_of_order latency_p50_us latency_p99_us \
  latency_p999_us server_rss_mib server_kib_per_connection server_cpu_us_per_delivery \
  server_cpu_us_per_connection connects_per_s server_cpu_pct tool_cpu_s \
  dropped_by_server
