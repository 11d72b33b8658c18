#!/usr/bin/env bash
# The main job: sets up a fresh Debian 12 machine, builds aded, and generates text with a model,
# first with plain decoding, then with speculative decoding (which must give the same text): ADED
# drafting from a tri-gram table built here from the Python standard library sources, the draft
# model aligned to the target, and both in one tree; then the tokens/s of each side by side.
# Uses the project's own code target (models/code-target.gguf, models/README.md), or the smaller
# demo model (models/demo-python.gguf); without either, converts the real stories260K model from
# ../shared/data (set ADED_SHARED_DATA to point elsewhere).
# Usage: scripts/demo.sh [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh release
aded=build/release/bin/aded
shared="${ADED_SHARED_DATA:-../shared/data}"
mkdir -p build/models build/demo-run

# Methods to compare with plain decoding: ADED from a tri-gram table, and a draft model aligned to
# the target when there is one.
methods=()
table_flags=()
if [ -f models/code-target.gguf ] || [ -f models/demo-python.gguf ]; then
  if [ -f models/code-target.gguf ]; then model=models/code-target.gguf; else model=models/demo-python.gguf; fi
  prompt=${1:-$'class Point:\n    """A point in the plane."""\n\n    def __init__(self, x, y):'}
  # The tri-gram table ADED drafts from: the model's tokens over this machine's Python sources.
  py=$(find /usr/lib -maxdepth 1 -type d -name 'python3.[0-9]*' | sort -V | tail -1)
  table=build/demo-run/python.tri
  if [ -n "$py" ] && [ ! -f "$table" ]; then
    mapfile -t sources < <(find "$py" -maxdepth 1 -name '*.py' | LC_ALL=C sort)
    echo "== tri-gram table from ${#sources[@]} files of $py"
    "$aded" ngram build -m "$model" -o "$table" --corpus "${sources[@]}" 2> build/demo-run/ngram.log ||
      { cat build/demo-run/ngram.log >&2; exit 1; }
  fi
  [ -f "$table" ] && table_flags=(--ngram "$table")
  methods+=(aded)
  if [ "$model" = models/code-target.gguf ] && [ -f models/code-draft-aligned.gguf ]; then
    methods+=(draft:model=models/code-draft-aligned.gguf)
    methods+=(union:of=aded/draft:model=models/code-draft-aligned.gguf)
  fi
elif [ -f "$shared/models/stories260K/stories260K.bin" ]; then
  model=build/models/stories260K.gguf
  "$aded" convert --llama2c "$shared/models/stories260K/stories260K.bin" \
    --tokenizer "$shared/models/stories260K/tok512.bin" -o "$model"
  prompt=${1:-}
  methods+=(aded)
else
  echo "demo: no model to run. This checkout has no models/code-target.gguf or demo-python.gguf and" >&2
  echo "      the shared data ($shared/models/stories260K) is absent. Either point ADED_SHARED_DATA at" >&2
  echo "      a copy of the shared data, or run any GGUF model of the Llama family:" >&2
  echo "        $aded run -m MODEL.gguf -p 'Once upon a time'" >&2
  exit 1
fi

# tokens/s of a run, from the stats line `aded run` prints last on stderr.
speed() { sed -n 's/.*generated: [0-9]* tokens, \([0-9.]*\) t\/s.*/\1/p' "$1" | tail -1; }

echo "== plain decoding: $aded run -m $model -n 256 --temp 0 -p PROMPT"
"$aded" run -m "$model" -n 256 --temp 0 -p "$prompt" > build/demo-run/plain.txt 2> build/demo-run/plain.log ||
  { cat build/demo-run/plain.log >&2; exit 1; }
cat build/demo-run/plain.txt
echo
plain=$(speed build/demo-run/plain.log)
summary=$(printf '%-58s %10s %8s  %s' "method" "tokens/s" "speed-up" "text")
summary+=$'\n'$(printf '%-58s %10s %8s  %s' "none (plain decoding)" "$plain" "1.00x" "-")
status=0
for m in "${methods[@]}"; do
  name=${m//[^A-Za-z0-9]/_}
  echo "== speculative decoding: $aded run -m $model -n 256 --temp 0 -p PROMPT --spec $m ${table_flags[*]}"
  "$aded" run -m "$model" -n 256 --temp 0 -p "$prompt" --spec "$m" "${table_flags[@]}" --spec-stats \
    > "build/demo-run/$name.txt" 2> "build/demo-run/$name.log" || { cat "build/demo-run/$name.log" >&2; exit 1; }
  grep -E '^(speculation|prompt):' "build/demo-run/$name.log" || true
  if cmp -s build/demo-run/plain.txt "build/demo-run/$name.txt"; then same=identical; else same=DIFFERENT; status=1; fi
  s=$(speed "build/demo-run/$name.log")
  summary+=$'\n'$(printf '%-58s %10s %7sx  %s' "$m" "$s" "$(awk -v a="$s" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')" "$same")
done
echo
echo "$summary"
if [ "$status" -ne 0 ]; then
  echo "demo: speculative output differs from plain decoding (a bug: please report it)" >&2
  exit 1
fi
echo "== identical text with and without speculation"
