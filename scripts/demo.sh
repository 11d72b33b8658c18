#!/usr/bin/env bash
# The main job: sets up a fresh Debian 12 machine, builds aded, and generates text with a model.
# Uses the project's own demo model (models/) when present; otherwise converts the real
# stories260K model from ../shared/data (set ADED_SHARED_DATA to point elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh release
aded=build/release/bin/aded
shared="${ADED_SHARED_DATA:-../shared/data}"
mkdir -p build/models

if [ -f models/demo-python.gguf ]; then
  model=models/demo-python.gguf
  prompt=${1:-'def fibonacci(n):'}
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
echo "demo: $aded run -m $model -n 256 --temp 0 -p '$prompt'"
"$aded" run -m "$model" -n 256 --temp 0 -p "$prompt"
