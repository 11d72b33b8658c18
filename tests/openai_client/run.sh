#!/usr/bin/env bash
# Starts `aded serve` on the demo model on a free loopback port, runs client_test.mjs (the official
# openai npm package) against it, then stops the server with SIGTERM and checks that it exits 0.
#   tests/openai_client/run.sh PATH/TO/aded
# Exits 77 (skipped) when node or the installed package is missing: `npm ci` in this folder
# (scripts/test.sh does it) installs it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
aded="$1"
model="$here/../../models/demo-python.gguf"
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/openai" ]; then
  echo "skipped: needs node and 'npm ci' in $here"
  exit 77
fi
log="$(mktemp)"
key="test-key-$$"
"$aded" serve -m "$model" --port 0 -t 2 --chat-template chatml --api-key "$key" 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 200); do
  port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")"
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "aded serve exited early"; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { cat "$log"; echo "aded serve did not report its port"; exit 1; }
ADED_URL="http://127.0.0.1:$port" ADED_API_KEY="$key" node "$here/client_test.mjs"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap 'rm -f "$log"' EXIT
cat "$log"
[ "$status" -eq 0 ] || { echo "aded serve exited with $status after SIGTERM"; exit 1; }
echo "aded serve stopped cleanly on SIGTERM"
