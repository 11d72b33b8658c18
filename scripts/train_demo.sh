#!/usr/bin/env bash
# How models/demo-python.gguf was made: a small Python-code model trained by `aded train` on the
# Python standard library sources that every Debian machine has (/usr/lib/python3.X, PSF license),
# with a 2048-piece vocabulary learned from the same text by `aded vocab train`.
#
#   shape: dim 256, 4 layers, 4 heads, hidden 704, ctx 256, tied output   3.7M parameters
#   train: batch 16 x 256, peak lr 2e-3, cosine over MINUTES (default 20), 2 threads
#   ship:  quantized to Q8_0 (about 4 MB)
#
# Usage: scripts/train_demo.sh [MINUTES]   (writes build/demo/*, then models/demo-python.gguf)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-20}"
aded="${ADED:-build/release/bin/aded}"
out=build/demo
[ -x "$aded" ] || { echo "train_demo: build aded first (scripts/build.sh release)" >&2; exit 1; }
py=$(find /usr/lib -maxdepth 1 -type d -name 'python3.[0-9]*' | sort -V | tail -1)
[ -n "$py" ] || { echo "train_demo: no /usr/lib/python3.X here (apt-get install python3)" >&2; exit 1; }
mkdir -p "$out"

# One section per source file, headed the way `aded train` recognizes documents. Every 40th file
# (in sorted order) is held out for validation.
echo "== corpus from $py"
: > "$out/train.txt"
: > "$out/valid.txt"
i=0
while IFS= read -r f; do
  target="$out/train.txt"
  [ $((i % 40)) -eq 39 ] && target="$out/valid.txt"
  { printf '# ==== file: %s\n' "${f#"$py"/}"; cat "$f"; printf '\n'; } >> "$target"
  i=$((i + 1))
done < <(find "$py" -name '*.py' -not -path '*/test/*' -not -path '*/tests/*' \
           -not -path '*/idlelib/*' -not -path '*-packages/*' | LC_ALL=C sort)
echo "   $i files: $(wc -c < "$out/train.txt") bytes train, $(wc -c < "$out/valid.txt") bytes valid"

echo "== vocabulary (2048 pieces)"
"$aded" vocab train --corpus "$out/train.txt" --size 2048 -o "$out/vocab.gguf"

echo "== training for $minutes minutes"
"$aded" train -o "$out/demo-python-f32.gguf" --vocab "$out/vocab.gguf" \
  --corpus "$out/train.txt" --valid "$out/valid.txt" \
  --dim 256 --layers 4 --heads 4 --hidden 704 --ctx 256 \
  --batch 16 --lr 2e-3 --warmup 30 --minutes "$minutes" --eval-interval 200 --seed 1 \
  2>&1 | tee "$out/train.log"

echo "== quantizing to Q8_0"
"$aded" quantize "$out/demo-python-f32.gguf" models/demo-python.gguf Q8_0
ls -l models/demo-python.gguf
"$aded" run -m models/demo-python.gguf -p 'def fibonacci(n):' -n 96 --temp 0
