#!/usr/bin/env bash
# The page at "/" in a real browser: starts `aded serve` on the demo model, has headless Chromium
# (Debian's package) load the page with ?autorun=1 (the page submits its prompt itself), and reads
# the streamed, coloured tokens from the DOM: every generated token is a span marked drafted or
# target, their text is the text /v1/completions gives for the same request, and with prompt
# lookup on a repetitive prompt some tokens are drafted.
#   tests/web_page/run.sh PATH/TO/aded [screenshot.png]
# Exits 77 (skipped) when Chromium is not installed.
set -euo pipefail
aded="$1"
screenshot="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
model="$here/../../models/demo-python.gguf"
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "skipped: needs chromium"; exit 77; }
log="$(mktemp)"
profile="$(mktemp -d)"
"$aded" serve -m "$model" --port 0 -t 1 --spec pld 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$log" "$profile"' EXIT
port=""
for _ in $(seq 1 200); do
  port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")"
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$log"; exit 1; }
prompt=$'class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n    def __repr__(self):\n        return'
query="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlencode({"prompt": sys.argv[1], "max_tokens": 60, "temperature": 0, "autorun": 1}))' "$prompt")"
url="http://127.0.0.1:$port/?$query"
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir="$profile"
       --virtual-time-budget=30000)
# Chromium dumps the DOM when its virtual-time budget runs out, which a loaded machine can reach
# before the stream ends: read the page again (a fresh request) up to three times until it says
# it is done; the checks below then apply to that page.
for _ in 1 2 3; do
  timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" 2>/dev/null > "$profile/dom.html"
  grep -q 'data-done="1"' "$profile/dom.html" && break
done
if [ -n "$screenshot" ]; then
  timeout 120 "$browser" "${flags[@]}" --window-size=1100,800 --screenshot="$screenshot" "$url" 2>/dev/null || true
fi
expected="$(curl -s "127.0.0.1:$port/v1/completions" -d "$(python3 -c 'import json, sys; print(json.dumps({"prompt": sys.argv[1], "max_tokens": 60, "temperature": 0}))' "$prompt")")"
python3 - "$profile/dom.html" "$expected" <<'PY'
import html.parser, json, sys
class Tokens(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tokens, self.current, self.done = [], None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("id") == "output":
            self.done = a.get("data-done")
        if tag == "span" and "tok" in (a.get("class") or "").split():
            self.current = {"drafted": a.get("data-drafted") == "1", "text": ""}
    def handle_endtag(self, tag):
        if tag == "span" and self.current is not None:
            self.tokens.append(self.current)
            self.current = None
    def handle_data(self, data):
        if self.current is not None:
            self.current["text"] += data
p = Tokens()
p.feed(open(sys.argv[1]).read())
expected = json.loads(sys.argv[2])["choices"][0]["text"]
text = "".join(t["text"] for t in p.tokens)
drafted = sum(t["drafted"] for t in p.tokens)
print(f"page: {len(p.tokens)} tokens, {drafted} drafted (green), {len(p.tokens) - drafted} from the target")
assert p.done == "1", f"the page did not finish (data-done={p.done}, {len(p.tokens)} tokens so far)"
assert len(p.tokens) == 60, f"{len(p.tokens)} token spans, expected 60"
assert text == expected, f"page text {text!r} != completion {expected!r}"
assert drafted > 0, "no token was drafted"
print("page in headless Chromium: streamed, coloured tokens read from the DOM: ok")
PY
