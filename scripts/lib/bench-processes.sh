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
