# What the benchmark scripts share: a scratch directory, the processes they start
# (killed, and the directory removed, when the script exits), waiting for a port, and
# running one `pushbus bench` (its table shown, its JSON line kept in $results with a
# label). Source it after setting $B (the pushbus binary); it sets $work, $results and
# the array pids (append every started process to it).
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (at most 10 s) until something accepts connections on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 1 200); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2
  exit 1
}

results="$work/results"
# run LABEL BENCH-ARGS...: one `$B bench`, its JSON line appended to $results.
run() {
  local label=$1
  shift
  echo
  echo "=== $label: pushbus bench $*"
  "$B" bench "$@" | tee "$work/out"
  printf '%s\t%s\n' "$label" "$(tail -n 1 "$work/out")" >>"$results"
}

# serve_config PORT CONFIG [VAR=value ...]: one `pushbus serve` ($B, from $root) on
# 127.0.0.1:PORT from the config file CONFIG, with the developer's REVERB_* variables
# removed and the given ones added; waits until it listens and sets LAST to its pid.
serve_config() {
  local port=$1 config=$2
  shift 2
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is taken: stop what listens there first" >&2
    exit 1
  fi
  # exec: $! is then the server itself, for --server-pid and for the cleanup.
  (cd "$work" && exec env -u REVERB_APP_ID -u REVERB_APP_KEY -u REVERB_APP_SECRET PUSHBUS_PORT="$port" "$@" \
    "$root/$B" serve --config "$config" >"$work/serve-$port.log" 2>&1) &
  pids+=("$!")
  LAST=$!
  wait_port "$port"
}

# summary KEY...: one line per run in $results with those of its figures it has.
summary() {
  echo
  echo "=== summary"
  python3 - "$results" "$@" <<'PY'
import json, sys
results, keys = sys.argv[1], sys.argv[2:]
for line in open(results):
    label, _, js = line.rstrip("\n").partition("\t")
    try:
        r = json.loads(js)
    except ValueError:
        print(label, "(no JSON line)", js)
        continue
    print(f"{label}: " + ", ".join(f"{k} {r[k]:.4g}" if isinstance(r[k], float) else f"{k} {r[k]}" for k in keys if k in r))
PY
}
