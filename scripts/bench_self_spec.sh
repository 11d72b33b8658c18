#!/usr/bin/env bash
# Self-speculative decoding (issue 19, docs/benchmarks.md): the target drafts for itself.
#  1. code15M (F32, ../shared/data) and the project's demo-python model (Q8_0, models/): the skip
#     set found by Bayesian optimization (aded tune-skip, with its convergence plot), then one
#     bench-spec run with none, pld, aded (code15M), every-other, the BO set, the online set
#     (SWIFT), Q8_0 and Q4_0 copies, and a Q4_0 copy with its own BO skip set.
#  2. Random-weight models of the 110M and 1.1B shapes (F16 and Q8_0): the cost of a draft token
#     of each self-drafter next to a target token, drafting forced (fixed budget, no early exit).
# Usage: scripts/bench_self_spec.sh [OUT_DIR]   (THREADS, LIMIT, TOKENS, BO_ITERATIONS override)
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ADED_SHARED_DATA:-../shared/data}"
out="${1:-build/bench-self}"
threads="${THREADS:-2}"
limit="${LIMIT:-40}"
tokens="${TOKENS:-128}"
iterations="${BO_ITERATIONS:-30}"
aded=build/release/bin/aded
mkdir -p "$out" build/models
prompts="$shared/prompts/humaneval/HumanEval.jsonl.gz"
code15m=build/models/code15M.gguf
[ -f "$code15m" ] || "$aded" convert --llama2c "$shared/models/code15M/code15M.bin" \
  --tokenizer "$shared/tokenizers/llama2-spm-32000/tokenizer.bin" -o "$code15m"
table="$out/python-k32.tri"
[ -f "$table" ] || "$aded" ngram build -m "$code15m" -o "$table" --top-k 32 \
  --corpus "$shared/corpora/python/python-stdlib-train.txt" "$shared/corpora/python/python-stdlib-table.txt"

tune() {  # name, model, extra args...
  local name=$1 model=$2; shift 2
  echo "== tune-skip $name"
  "$aded" tune-skip -m "$model" --prompts "$prompts" -t "$threads" --iterations "$iterations" \
    -o "$out/$name.skip" --plot "$out/$name-bo.svg" "$@" | tee "$out/$name-bo.md"
}
tune code15m "$code15m"
tune code15m-q4 "$code15m" --base self:quant=q4_0
tune demo models/demo-python.gguf
tune demo-q4 models/demo-python.gguf --base self:quant=q4_0

self_methods() {  # name: the self-drafters of a model with its BO skip files
  echo "self:skip=every-other,self:skip=@$out/$1.skip,self:skip=online,self:quant=q8_0,self:quant=q4_0,self:quant=q4_0:skip=@$out/$1-q4.skip"
}
echo "== bench-spec code15M"
"$aded" bench-spec -m "$code15m" --prompts "$prompts" -t "$threads" -n "$tokens" --limit "$limit" \
  --ngram "$table" --ngram-top-k 12 --methods "none,pld,aded,$(self_methods code15m)" \
  --json "$out/code15m.json" --plot "$out/code15m.svg" | tee "$out/code15m.md"
echo "== bench-spec demo-python"
"$aded" bench-spec -m models/demo-python.gguf --prompts "$prompts" -t "$threads" -n "$tokens" --limit "$limit" \
  --methods "none,pld,$(self_methods demo)" --json "$out/demo.json" | tee "$out/demo.md"

# Draft cost on the shapes where self-speculation is meant to pay. Random weights: acceptance
# means nothing here, only the cost of drafting and verifying.
forced=":budget=fixed:max=4:depth=4:exit=0:adaptive-exit=off"
for shape in llama-110m llama-1.1b; do
  for type in F16 Q8_0; do
    model="$out/$shape-$type.gguf"
    [ -f "$model" ] || "$aded" gen-model --shape "$shape" --type "$type" -o "$model"
    methods="none,self:skip=every-other$forced,self:quant=q4_0$forced,self:quant=q4_0:skip=every-other$forced"
    [ "$type" = F16 ] && methods="$methods,self:quant=q8_0$forced"
    echo "== draft cost $shape $type"
    "$aded" bench-spec -m "$model" --prompts "$prompts" -t "$threads" -n 32 --limit 4 --methods "$methods" \
      --json "$out/cost-$shape-$type.json" | tee "$out/cost-$shape-$type.md"
  done
done
echo "results in $out"
