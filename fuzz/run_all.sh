#!/usr/bin/env bash
# Builds the "fuzz" preset (clang, ASan + UBSan + libFuzzer) and runs every fuzz target for N
# seconds each, starting from seeds written by aded_fuzz_seeds and from the corpus kept by earlier
# runs. Exits non-zero if any target finds a crash, leak, timeout or sanitizer report.
#
#   fuzz/run_all.sh [seconds-per-target (default 60)] [target ...]
#
# Environment: ADED_FUZZ_BUILD_DIR (default build/fuzz, the preset's directory; another directory
# is configured by hand with the same options), ADED_FUZZ_JOBS (build parallelism, default 2).
# Per target, build-dir/fuzz-out/<target>/ holds the corpus, crash artifacts and the log.
set -euo pipefail

seconds="${1:-60}"
shift || true
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ADED_FUZZ_BUILD_DIR:-$repo/build/fuzz}"
jobs="${ADED_FUZZ_JOBS:-2}"

cd "$repo"
if [[ "$build" == "$repo/build/fuzz" ]]; then
  cmake --preset fuzz >/dev/null
else
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DADED_BUILD_FUZZ=ON -DADED_BUILD_TESTS=OFF -DADED_BUILD_BENCH=OFF >/dev/null
fi
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for source in fuzz/*_fuzz.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi
# Only what runs: the seed writer and the targets (not the command-line tools).
cmake --build "$build" -j "$jobs" --target aded_fuzz_seeds "${targets[@]}"

seeds="$build/fuzz-seeds"
rm -rf "$seeds"
"$build/bin/aded_fuzz_seeds" "$seeds"

# Seed folder and longest input for each target: models need room, text does not.
seed_dir() {
  case "$1" in
    gguf_fuzz) echo "$seeds/gguf" ;;
    llama2c_fuzz) echo "$seeds/llama2c" ;;
    trigram_table_fuzz) echo "$seeds/ngram" ;;
    token_cache_fuzz) echo "$seeds/token_cache" ;;
    checkpoint_fuzz) echo "$seeds/checkpoint" ;;
    distill_set_fuzz) echo "$seeds/distill_set" ;;
    *) echo "$seeds/text" ;;
  esac
}
max_len() {
  case "$1" in
    gguf_fuzz) echo 32768 ;;
    llama2c_fuzz) echo 16384 ;;
    trigram_table_fuzz) echo 16384 ;;
    checkpoint_fuzz) echo 32768 ;;
    selection_policy_fuzz) echo 16384 ;;  # a policy of 4 arms is 9 KB
    *) echo 4096 ;;
  esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for target in "${targets[@]}"; do
  out="$build/fuzz-out/$target"
  mkdir -p "$out/corpus" "$out/artifacts"
  echo "== $target: ${seconds}s, max_len $(max_len "$target")"
  # Seeds kept in the repository (fuzz/seeds/<target>) join the generated ones.
  extra=()
  [[ -d "fuzz/seeds/$target" ]] && extra+=("fuzz/seeds/$target")
  if "$build/bin/$target" "$out/corpus" "$(seed_dir "$target")" "${extra[@]}" \
      -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$out/artifacts/" -print_final_stats=1 >"$out/log.txt" 2>&1; then
    grep -E "^Done|stat::(number_of_executed_units|new_units_added)" "$out/log.txt" || true
    grep -E "cov: [0-9]+" "$out/log.txt" | tail -1 || true
    echo "   corpus: $(find "$out/corpus" -type f | wc -l) inputs"
  else
    echo "!! $target failed; log: $out/log.txt, artifacts: $out/artifacts/"
    grep -E "ERROR|runtime error|SUMMARY|uncaught|==[0-9]+==" "$out/log.txt" | head -20 || true
    failed+=("$target")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing found problems in: ${failed[*]}"
  exit 1
fi
echo "all fuzz targets ran clean"
