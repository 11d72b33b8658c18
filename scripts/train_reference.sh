#!/usr/bin/env bash
# The reference recipe: trains the project's benchmark family on the CPython standard library with
# the Llama 2 vocabulary (so every model shares the tokenizer and the small ones can draft for the
# large one), then prints the validation losses.
#
#   target   code15M shape: dim 288, 6 layers, 6 heads, hidden 768, ctx 256    15.2M parameters
#   draft-3m dim 96, 2 layers, 4 heads (2 kv), hidden 256                        3.3M parameters
#   draft-2m dim 64, 2 layers, 4 heads (2 kv), hidden 176                        2.1M parameters
# (the 32000 x dim tied embedding is most of a small model's parameters).
#
# All runs: batch 16 x 256 tokens, AdamW (0.9, 0.95, weight decay 0.1), peak lr 8e-4 (2e-3 for the
# drafters), 30 warm-up steps, cosine to 10% over the time budget, gradient clipping at 1.0,
# validation on 8 batches of the valid split. A run interrupted with Ctrl-C leaves a checkpoint;
# rerunning this script resumes it.
#
# Environment: ADED_SHARED_DATA (default ../shared/data), OUT (default build/reference-models),
# TARGET_MINUTES (95), DRAFT_MINUTES (30), THREADS (all cores), ONLY (train only this model name).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ADED_SHARED_DATA:-../shared/data}"
out="${OUT:-build/reference-models}"
aded="${ADED:-build/release/bin/aded}"
target_minutes="${TARGET_MINUTES:-95}"
draft_minutes="${DRAFT_MINUTES:-30}"
threads="${THREADS:-$(nproc)}"

corpus="$shared/corpora/python/python-stdlib-train.txt"
valid="$shared/corpora/python/python-stdlib-valid.txt"
vocab="$shared/tokenizers/llama2-spm-32000/ggml-vocab-llama-spm.gguf"
for f in "$corpus" "$valid" "$vocab"; do
  [ -f "$f" ] || { echo "train_reference: missing $f (set ADED_SHARED_DATA)" >&2; exit 1; }
done
[ -x "$aded" ] || { echo "train_reference: build aded first (scripts/build.sh), or set ADED" >&2; exit 1; }
mkdir -p "$out"

# name minutes lr shape-flags...
train() {
  local name=$1 minutes=$2 lr=$3
  shift 3
  if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ]; then return; fi
  local model="$out/$name.gguf" log="$out/$name.log"
  local resume=()
  if [ -f "$model.ckpt" ] && [ ! -f "$out/$name.done" ]; then resume=(--resume "$model.ckpt"); fi
  if [ -f "$out/$name.done" ]; then
    echo "== $name: already trained ($model)"
    return
  fi
  echo "== $name: $* for $minutes min (log: $log)"
  "$aded" train -o "$model" --vocab "$vocab" --corpus "$corpus" --valid "$valid" \
    --batch 16 --ctx 256 --lr "$lr" --warmup 30 --minutes "$minutes" --eval-interval 100 --eval-batches 8 \
    --seed 1 -t "$threads" "${resume[@]}" "$@" 2>&1 | tee "$log"
  touch "$out/$name.done"
}

train target "$target_minutes" 8e-4 --dim 288 --layers 6 --heads 6 --kv-heads 6 --hidden 768
train draft-3m "$draft_minutes" 2e-3 --dim 96 --layers 2 --heads 4 --kv-heads 2 --hidden 256
train draft-2m "$draft_minutes" 2e-3 --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 176

echo
echo "validation loss (nats/token, 8 x 16 windows of python-stdlib-valid.txt):"
for name in target draft-3m draft-2m; do
  log="$out/$name.log"
  [ -f "$log" ] || continue
  loss=$(grep -o 'final valid loss [0-9.]*' "$log" | tail -1 | awk '{print $4}')
  printf "  %-9s %s  %s\n" "$name" "${loss:-?}" "$out/$name.gguf"
done
