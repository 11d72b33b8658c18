#!/usr/bin/env bash
# The main job: sets up a fresh Debian 12 machine, builds aded, and generates text with a model,
# first with plain decoding, then with ADED speculative decoding (which must give the same text).
# Uses the project's own demo model (models/demo-python.gguf, a small Python-code model) with a
# tri-gram table built here from the Python standard library sources; without it, converts the
# real stories260K model from ../shared/data (set ADED_SHARED_DATA to point elsewhere).
# Usage: scripts/demo.sh [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh release
aded=build/release/bin/aded
shared="${ADED_SHARED_DATA:-../shared/data}"
mkdir -p build/models build/demo-run

spec=(--spec aded)
if [ -f models/demo-python.gguf ]; then
  model=models/demo-python.gguf
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
  [ -f "$table" ] && spec+=(--ngram "$table")
elif [ -f "$shared/models/stories260K/stories260K.bin" ]; then
  model=build/models/stories260K.gguf
  "$aded" convert --llama2c "$shared/models/stories260K/stories260K.bin" \
    --tokenizer "$shared/models/stories260K/tok512.bin" -o "$model"
  prompt=${1:-}
else
  echo "demo: no model to run. This checkout has no models/demo-python.gguf and the shared data" >&2
  echo "      ($shared/models/stories260K) is absent. Either point ADED_SHARED_DATA at a copy of" >&2
  echo "      the shared data, or run any GGUF model of the Llama family:" >&2
  echo "        $aded run -m MODEL.gguf -p 'Once upon a time'" >&2
  exit 1
fi

echo "== plain decoding: $aded run -m $model -n 256 --temp 0 -p PROMPT"
"$aded" run -m "$model" -n 256 --temp 0 -p "$prompt" | tee build/demo-run/plain.txt
echo
echo "== speculative decoding: $aded run -m $model -n 256 --temp 0 -p PROMPT ${spec[*]} --spec-stats"
"$aded" run -m "$model" -n 256 --temp 0 -p "$prompt" "${spec[@]}" --spec-stats > build/demo-run/aded.txt
if cmp -s build/demo-run/plain.txt build/demo-run/aded.txt; then
  echo "== identical text with and without speculation"
else
  echo "demo: speculative output differs from plain decoding (a bug: please report it)" >&2
  diff build/demo-run/plain.txt build/demo-run/aded.txt >&2 || true
  exit 1
fi
