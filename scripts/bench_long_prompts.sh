#!/usr/bin/env bash
# Speculation deep in the context (issue 21): code15M (F32, F16 KV cache) continuing Python files
# from the valid split at a function definition, with ~200, ~2000 and ~4000 tokens of the file
# before it (the same 20 definitions in each set: only the context differs), greedy, 2 threads,
# 256 new tokens, methods none / pld / aded with the tri-gram table of the python corpus.
# Needs ../shared/data (or ADED_SHARED_DATA). Usage: scripts/bench_long_prompts.sh [OUT_DIR [bench-spec flags...]]
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ADED_SHARED_DATA:-../shared/data}"
out="${1:-build/bench-long}"
[ $# -gt 0 ] && shift
threads="${THREADS:-2}"
aded=build/release/bin/aded
mkdir -p "$out" build/models
model=build/models/code15M.gguf
[ -f "$model" ] || "$aded" convert --llama2c "$shared/models/code15M/code15M.bin" \
  --tokenizer "$shared/tokenizers/llama2-spm-32000/tokenizer.bin" -o "$model"
table=build/bench-spec/python-k32.tri
mkdir -p build/bench-spec
[ -f "$table" ] || "$aded" ngram build -m "$model" -o "$table" --top-k 32 \
  --corpus "$shared/corpora/python/python-stdlib-train.txt" "$shared/corpora/python/python-stdlib-table.txt"
prompts="$out/prompts.jsonl"
: > "$prompts"
for set in 600:short 6500:2k 13000:4k; do
  python3 scripts/make_code_prompts.py "$shared/corpora/python/python-stdlib-valid.txt" -o "$out/${set#*:}.jsonl" \
    --count 20 --seed 3 --min-before 13000 --context "${set%:*}" --category "${set#*:}"
  cat "$out/${set#*:}.jsonl" >> "$prompts"
done
"$aded" bench-spec -m "$model" --prompts "$prompts" -t "$threads" -n 256 -c 5120 --ngram "$table" --ngram-top-k 12 \
  --methods none,pld,aded --json "$out/long.json" "$@" | tee "$out/long.md"
