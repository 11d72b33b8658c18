#!/usr/bin/env bash
# Single-stream decoding speed through `aded serve` against `aded run` on the same prompt, greedy,
# interleaved (run, server, run, server ...) so that load on the machine hits both alike. Prints
# the medians. The server runs with --no-cross-request so that every request starts like a fresh
# `aded run` (the speculator still keeps its measured costs across requests). "server cold" is a
# request after the server sat idle while `aded run` ran; "server warm" the same request sent again
# at once (on a loaded machine, other processes evict a tiny model's weights from the caches of an
# idle server, while `aded run` has just read all of them when it packed its weights).
#   bench/server_vs_run.sh [aded binary] [model] [method ...]   (default: none aded pld)
set -euo pipefail
aded="${1:-build/release/bin/aded}"
model="${2:-models/demo-python.gguf}"
shift 2 || true
methods=("$@")
[ ${#methods[@]} -gt 0 ] || methods=(none aded pld)
rounds="${ROUNDS:-7}"
threads="${THREADS:-1}"
n="${N:-200}"
prompt=$'def read_config(path):\n    """Read the configuration file."""\n'
# The response goes to a file and is read after the request: a reader started beside curl (python's
# start-up) would compete for the CPU with the generation it measures.
reply="$(mktemp)"
port=$((20000 + RANDOM % 20000))
"$aded" serve -m "$model" --port "$port" -t "$threads" --no-cross-request 2>/dev/null &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; rm -f "$reply"' EXIT
for _ in $(seq 1 100); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.05; done
request() {
  curl -s -o "$reply" "localhost:$port/v1/completions" -d "$body"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timings"]["predicted_per_second"])' "$reply"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for method in "${methods[@]}"; do
  body=$(python3 -c 'import json,sys; print(json.dumps({"prompt": sys.argv[1], "max_tokens": int(sys.argv[3]), "temperature": 0, "speculative": {"method": sys.argv[2]}}))' "$prompt" "$method" "$n")
  runs=() serves=() warms=()
  for _ in $(seq 1 "$rounds"); do
    runs+=("$("$aded" run -m "$model" -p "$prompt" -n "$n" --temp 0 -t "$threads" --spec "$method" 2>&1 >/dev/null |
      sed -n 's/.*generated: [0-9]* tokens, \([0-9.]*\) t\/s.*/\1/p')")
    serves+=("$(request)")
    warms+=("$(request)")
  done
  r=$(printf '%s\n' "${runs[@]}" | median)
  s=$(printf '%s\n' "${serves[@]}" | median)
  w=$(printf '%s\n' "${warms[@]}" | median)
  printf '%-6s aded run %7.0f t/s | server cold %7.0f t/s (%.2fx) | server warm %7.0f t/s (%.2fx)   (medians of %d, -t %d, %d tokens)\n' \
    "$method" "$r" "$s" "$(echo "$s / $r" | bc -l)" "$w" "$(echo "$w / $r" | bc -l)" "$rounds" "$threads" "$n"
done
