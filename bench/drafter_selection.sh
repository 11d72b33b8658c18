#!/usr/bin/env bash
# The drafter-selection benchmark of docs/benchmarks.md: a mixed prompt set split into training
# and held-out prompts; every single drafter's speed-up logged on the training prompts (greedy and
# at 0.8), a per-request policy learned from those logs, then every method - single drafters, the
# union tree, the per-step `select`, `auto` with the policy and `auto` learning from nothing - on
# the held-out prompts, greedy and at 0.8, with the regret plots.
#
#   bench/drafter_selection.sh [OUT_DIR (default build/drafter-selection)] [held-out]
#
# "held-out" skips the training runs (their logs and policy are in OUT_DIR already).
# Environment: ADED (binary), TARGET (default: the committed code target's weights as F32, made
# here), NGRAM (tri-gram table; default made from the stdlib training split), DRAFT (draft model),
# SHARED (../shared/data), N (new tokens, 128), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/drafter-selection}"
mode="${2:-}"
aded="${ADED:-build/release/bin/aded}"
shared="${SHARED:-../shared/data}"
draft="${DRAFT:-models/code-draft-aligned.gguf}"
mkdir -p "$out"
target="${TARGET:-$out/code-target-f32.gguf}"
# F32 weights: the committed Q8_0 file's values, read from memory at every step as a real model's are.
[[ -f "$target" ]] || "$aded" quantize models/code-target.gguf "$target" F32
ngram="${NGRAM:-$out/python.tri}"
[[ -f "$ngram" ]] || "$aded" ngram build -m models/code-target.gguf -o "$ngram" \
  --corpus "$shared/corpora/python/python-stdlib-train.txt"
if [[ ! -f "$out/train.jsonl" ]]; then
  python3 scripts/make_mixed_prompts.py --humaneval "$shared/prompts/humaneval/HumanEval.jsonl.gz" \
    --corpus "$shared/corpora/python/python-stdlib-valid.txt" -o "$out/train.jsonl" --per-category 25 \
    --held-out 15 --held-out-output "$out/held-out.jsonl"
fi
common=(-m "$target" -t "${THREADS:-2}" -n "${N:-128}" --ngram "$ngram" -md "$draft" --seed 1)
if [[ "$mode" != held-out ]]; then
  for T in 0 0.8; do
    echo "training prompts, temperature $T" >&2
    "$aded" bench-spec "${common[@]}" --prompts "$out/train.jsonl" --temp $T --methods none,pld,aded,draft \
      --select-log "$out/train-$T.jsonl" --json "$out/train-$T.json" > "$out/train-$T.md"
  done
  "$aded" select train --log "$out/train-0.jsonl" "$out/train-0.8.jsonl" -o "$out/policy.json"
fi
for T in 0 0.8; do
  echo "held-out prompts, temperature $T" >&2
  "$aded" bench-spec "${common[@]}" --prompts "$out/held-out.jsonl" --temp $T \
    --methods "none,pld,aded,draft,union:of=aded/draft,select:of=pld/aded/draft,auto:of=none/pld/aded/draft:policy=$out/policy.json,auto:of=none/pld/aded/draft" \
    --select-log "$out/held-$T.jsonl" --json "$out/held-$T.json" --regret-plot "$out/regret-$T.svg" > "$out/held-$T.md"
done
# How the policy does on the held-out logs, by their logged rewards.
"$aded" select train --log "$out/train-0.jsonl" "$out/train-0.8.jsonl" -o "$out/policy-check.json" \
  --eval "$out/held-0.jsonl" "$out/held-0.8.jsonl"
