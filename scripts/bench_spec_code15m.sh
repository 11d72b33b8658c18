#!/usr/bin/env bash
# The speculative benchmark of issue "ADED speculative decoding" (docs/benchmarks.md): code15M
# (F32) on HumanEval, greedy, 2 threads, 256 new tokens, methods none / pld / aded, the tri-gram
# table built from the python corpus (train + table splits). Then the ablations on the first
# ABLATION_PROMPTS prompts: search (MCTS vs best-first), the adaptive parts (tri-gram overlay,
# context model, both off, shared overlay), top-K, corpus size, budget.
# Needs ../shared/data (or ADED_SHARED_DATA). Usage: scripts/bench_spec_code15m.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ADED_SHARED_DATA:-../shared/data}"
out="${1:-build/bench-spec}"
threads="${THREADS:-2}"
limit="${LIMIT:-0}"
ablation_prompts="${ABLATION_PROMPTS:-40}"
aded=build/release/bin/aded
mkdir -p "$out" build/models
model=build/models/code15M.gguf
[ -f "$model" ] || "$aded" convert --llama2c "$shared/models/code15M/code15M.bin" \
  --tokenizer "$shared/tokenizers/llama2-spm-32000/tokenizer.bin" -o "$model"
corpus=("$shared/corpora/python/python-stdlib-train.txt" "$shared/corpora/python/python-stdlib-table.txt")
table="$out/python-k32.tri"
[ -f "$table" ] || "$aded" ngram build -m "$model" -o "$table" --top-k 32 --corpus "${corpus[@]}"
prompts="$shared/prompts/humaneval/HumanEval.jsonl.gz"

run() {  # name, extra args...
  local name=$1; shift
  echo "== $name"
  "$aded" bench-spec -m "$model" --prompts "$prompts" -t "$threads" -n 256 --ngram "$table" --ngram-top-k 12 \
    --json "$out/$name.json" --plot "$out/$name.svg" "$@" | tee "$out/$name.md"
}

run main --methods none,pld,aded --limit "$limit"
# The paper's drafter as published: MCTS (PUCT, the authors' constants) over the tri-gram table and
# its overlay, no context model.
run paper --methods none,aded:paper --limit "$limit"
run search --methods none,aded:search=best-first,aded:search=mcts,aded:search=mcts:search-depth=8 --limit "$ablation_prompts"
run adapt --methods none,aded,aded:overlay=off,aded:overlay=on,aded:context=0,aded:context=0:overlay=on,aded:adapt=off,aded:shared=on,aded:ngram= \
  --limit "$ablation_prompts"
run topk --methods none,aded:top-k=1,aded:top-k=4,aded:top-k=12,aded:top-k=32 --limit "$ablation_prompts"
for tokens in 100000 1000000; do
  t="$out/python-$tokens.tri"
  [ -f "$t" ] || "$aded" ngram build -m "$model" -o "$t" --top-k 32 --max-tokens "$tokens" --corpus "${corpus[@]}"
done
run corpus --methods "none,aded:ngram=$out/python-100000.tri,aded:ngram=$out/python-1000000.tri,aded" \
  --limit "$ablation_prompts"
run budget --methods none,aded,aded:budget=fixed,aded:max=8,aded:max=32,aded:max=64 --limit "$ablation_prompts"
