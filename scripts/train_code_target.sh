#!/usr/bin/env bash
# The code target of the aligned-drafter work (issue 22) and its drafters: Python code models with
# a context of 1024 tokens (a HumanEval prompt and 256 new tokens fit), trained on the CPython
# standard library (../shared/data/corpora/python) with the 2048-piece vocabulary of the demo model
# (models/demo-python.gguf), so the ADED tables and the demo share it.
#
#   target    dim 320, 8 layers, 5 heads, hidden 864, ctx 1024                  10.6M parameters
#   draft-1m  dim 192, 3 layers, 4 heads (2 kv), hidden 512, ctx 1024            1.6M parameters
#   draft-4m  dim 256, 4 layers, 4 heads (4 kv), hidden 704, ctx 1024            3.7M parameters
#
# All runs: batch 8 x 1024 tokens, AdamW (0.9, 0.95, weight decay 0.1), 50 warm-up steps, cosine
# to 10% over the time budget, gradient clipping at 1.0; peak lr 1e-3 (target), 2e-3 (drafters).
# The target wants the machine to itself: on 2 cores it reaches ~1950 tokens/s (124 GFLOP/s) alone,
# and a run sharing the cores with builds fell to 250 tokens/s. A run interrupted with Ctrl-C leaves
# a checkpoint; rerunning this script resumes it. Shipped quantized to Q8_0 under models/.
#
# Environment: ADED_SHARED_DATA (default ../shared/data), OUT (default build/code-target),
# TARGET_MINUTES (110), DRAFT_MINUTES (30), THREADS (all cores), ONLY (train only this model name).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ADED_SHARED_DATA:-../shared/data}"
out="${OUT:-build/code-target}"
aded="${ADED:-build/release/bin/aded}"
target_minutes="${TARGET_MINUTES:-110}"
draft_minutes="${DRAFT_MINUTES:-30}"
threads="${THREADS:-$(nproc)}"

corpus="$shared/corpora/python/python-stdlib-train.txt"
valid="$shared/corpora/python/python-stdlib-valid.txt"
vocab=models/demo-python.gguf
for f in "$corpus" "$valid" "$vocab"; do
  [ -f "$f" ] || { echo "train_code_target: missing $f (set ADED_SHARED_DATA)" >&2; exit 1; }
done
[ -x "$aded" ] || { echo "train_code_target: build aded first (scripts/build.sh), or set ADED" >&2; exit 1; }
mkdir -p "$out"

# name minutes lr shape-flags...
train() {
  local name=$1 minutes=$2 lr=$3
  shift 3
  if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ]; then return; fi
  local model="$out/$name-f32.gguf" log="$out/$name.log"
  if [ -f "$out/$name.done" ]; then
    echo "== $name: already trained ($model)"
    return
  fi
  local resume=()
  if [ -f "$model.ckpt" ]; then resume=(--resume "$model.ckpt"); fi
  echo "== $name: $* for $minutes min (log: $log)"
  "$aded" train -o "$model" --vocab "$vocab" --corpus "$corpus" --valid "$valid" \
    --batch 8 --ctx 1024 --lr "$lr" --warmup 50 --minutes "$minutes" --eval-interval 100 \
    --eval-batches 8 --seed 1 -t "$threads" "${resume[@]}" "$@" 2>&1 | tee -a "$log"
  touch "$out/$name.done"
  "$aded" quantize "$model" "$out/$name.gguf" Q8_0
}

train target "$target_minutes" 1e-3 --dim 320 --layers 8 --heads 5 --kv-heads 5 --hidden 864
train draft-1m "$draft_minutes" 2e-3 --dim 192 --layers 3 --heads 4 --kv-heads 2 --hidden 512
train draft-4m "$draft_minutes" 2e-3 --dim 256 --layers 4 --heads 4 --kv-heads 4 --hidden 704
ls -l "$out"/*.gguf
