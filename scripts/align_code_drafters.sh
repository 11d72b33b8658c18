#!/usr/bin/env bash
# The aligned-drafter experiment of issue 22 on the committed code target (models/README.md):
#   1. prompts: 1500 function definitions of the stdlib training text (distillation), 40 of the
#      held-out text and the first 40 HumanEval prompts (evaluation; the drafter never sees them);
#   2. the target writes the distillation set (sampled at 0.8, its top 32 kept per position);
#   3. the pretrained drafter is fine-tuned on it with FKL, RKL, TVD and TVD++ (both readings),
#      and with TVD against the target's whole distribution recomputed during training;
#   4. eval-drafter: alpha, tau, MBSU and the measured speed-up of each drafter, greedy and at 0.8,
#      on both evaluation sets (JSON under OUT/eval/).
# Resumable: each step is skipped when its output exists. Wants the machine to itself (timings).
#
# Environment: ADED_SHARED_DATA (../shared/data), OUT (build/align), TARGET
# (models/code-target.gguf), DRAFTER (models/code-draft-1m.gguf), STEPS (fine-tuning steps, 300),
# THREADS (all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ADED_SHARED_DATA:-../shared/data}"
out="${OUT:-build/align}"
aded="${ADED:-build/release/bin/aded}"
target="${TARGET:-models/code-target.gguf}"
drafter="${DRAFTER:-models/code-draft-1m.gguf}"
steps="${STEPS:-300}"
threads="${THREADS:-$(nproc)}"
corpus="$shared/corpora/python"
humaneval="$shared/prompts/humaneval/HumanEval.jsonl.gz"
for f in "$corpus/python-stdlib-train.txt" "$corpus/python-stdlib-valid.txt" "$humaneval" "$target" "$drafter"; do
  [ -f "$f" ] || { echo "align_code_drafters: missing $f" >&2; exit 1; }
done
[ -x "$aded" ] || { echo "align_code_drafters: build aded first (scripts/build.sh), or set ADED" >&2; exit 1; }
mkdir -p "$out/eval"

# 1. Prompts
[ -f "$out/distill-prompts.jsonl" ] ||
  python3 scripts/make_code_prompts.py "$corpus/python-stdlib-train.txt" -o "$out/distill-prompts.jsonl" --count 1500 --seed 1
[ -f "$out/heldout.jsonl" ] ||
  python3 scripts/make_code_prompts.py "$corpus/python-stdlib-valid.txt" -o "$out/heldout.jsonl" --count 40 --seed 2
if [ ! -f "$out/humaneval40.jsonl" ]; then
  # zcat stops on SIGPIPE once head has its 40 lines: not an error.
  { zcat "$humaneval" || true; } | head -n 40 > "$out/humaneval40.jsonl"
  [ "$(wc -l < "$out/humaneval40.jsonl")" -eq 40 ] || { echo "align_code_drafters: cannot read $humaneval" >&2; exit 1; }
fi

# 2. The distillation set (resumes by itself)
"$aded" distill-data -m "$target" --prompts "$out/distill-prompts.jsonl" -o "$out/code.set" \
  --temp 0.8 --top-k-probs 32 -n 128 --seed 1 -t "$threads"

# 3. Fine-tuning
tune() {  # name loss [flags...]
  local name=$1 loss=$2
  shift 2
  [ -f "$out/$name.gguf" ] && return
  "$aded" train --distill "$out/code.set" --target "$target" --init "$drafter" --loss "$loss" "$@" \
    --steps "$steps" --batch 8 --ctx 384 --lr 5e-4 --warmup 20 -t "$threads" -o "$out/$name-f32.gguf" \
    2>&1 | tee "$out/$name.log"
  "$aded" quantize "$out/$name-f32.gguf" "$out/$name.gguf" Q8_0
}
tune fkl fkl
tune rkl rkl
tune tvd tvd
tune tvdpp-batch tvdpp --tvdpp-norm batch
tune tvdpp-position tvdpp --tvdpp-norm position
tune tvd-recomputed tvd --distill-p target

# 4. Evaluation
evaluate() {  # name model
  local name=$1 model=$2 set temp
  for set in heldout humaneval40; do
    for temp in 0 0.8; do
      local json="$out/eval/$name-$set-t$temp.json"
      [ -f "$json" ] && continue
      echo "== $name on $set at temperature $temp"
      "$aded" eval-drafter -m "$target" -md "$model" --prompts "$out/$set.jsonl" --temp "$temp" \
        -n 128 --seed 1 -t "$threads" --json > "$json.part"
      mv "$json.part" "$json"
    done
  done
}
evaluate pretrained "$drafter"
for name in fkl rkl tvd tvdpp-batch tvdpp-position tvd-recomputed; do evaluate "$name" "$out/$name.gguf"; done
ls -l "$out"/eval
