#!/usr/bin/env bash
# Startup to the first token, warm page cache: aded on the file as written (weights packed at
# load), aded on its `aded repack` copy, and llama.cpp's llama-cli on the original, interleaved,
# for the random-weight 1.1B (TinyLlama shape) in F16, Q8_0 and Q4_0. Prints seconds and peak RSS.
#
#   scripts/bench_startup.sh DIR [rounds (default 3)]
#
# DIR keeps the generated models (2.2 + 1.2 + 0.6 GB, and as much again repacked). llama-cli is
# taken from LLAMA_CLI (default /work/llamacpp/llama.cpp/build/bin/llama-cli; ../shared/tools/llamacpp
# builds it); without it the llama.cpp column is left out.
set -euo pipefail
dir="${1:?usage: bench_startup.sh DIR [rounds]}"
rounds="${2:-3}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
aded="$repo/build/release/bin/aded"
llama="${LLAMA_CLI:-/work/llamacpp/llama.cpp/build/bin/llama-cli}"
mkdir -p "$dir"
for type in F16 Q8_0 Q4_0; do
  f="$dir/llama-1.1b-$type.gguf"
  [[ -f "$f" ]] || "$aded" gen-model --shape llama-1.1b --type "$type" -o "$f" >/dev/null
  [[ -f "$dir/llama-1.1b-$type.p16.gguf" ]] || "$aded" repack "$f" "$dir/llama-1.1b-$type.p16.gguf" 2>/dev/null
done
measure() {  # label, command...: prints "label seconds MB"
  local label="$1"
  shift
  /usr/bin/time -f "%e %M" -o /tmp/bench_startup.time "$@" </dev/null >/dev/null 2>&1
  read -r seconds kb </tmp/bench_startup.time
  echo "$label $seconds $((kb / 1024))"
}
echo "# type file seconds peak-RSS-MB (round by round)"
for round in $(seq 1 "$rounds"); do
  for type in F16 Q8_0 Q4_0; do
    f="$dir/llama-1.1b-$type.gguf"
    p="$dir/llama-1.1b-$type.p16.gguf"
    cat "$f" "$p" >/dev/null  # warm
    measure "$type aded" "$aded" run -m "$f" -p hi -n 1 -t 2
    measure "$type aded-repacked" "$aded" run -m "$p" -p hi -n 1 -t 2
    [[ -x "$llama" ]] && measure "$type llama.cpp" "$llama" -m "$f" -p hi -n 1 -t 2 -no-cnv
  done
done
