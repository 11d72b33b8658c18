#!/usr/bin/env bash
# Engine benchmarks of docs/benchmarks.md: random-weight models of the 110M and 1.1B shapes in
# F16, Q8_0 and Q4_0, `aded bench` on each (pp512, tg128, bandwidth, cost curve), JSON per model.
# Usage: scripts/bench_engine.sh [OUT_DIR] [THREADS]   (models are cached in build/models)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/bench-engine}"
threads="${2:-2}"
aded=build/release/bin/aded
mkdir -p "$out" build/models
for shape in llama-110m llama-1.1b; do
  for type in F16 Q8_0 Q4_0; do
    model="build/models/$shape-$type.gguf"
    [ -f "$model" ] || "$aded" gen-model --shape "$shape" --type "$type" -o "$model"
    reps=5
    [ "$shape" = llama-1.1b ] && reps=3
    echo "== $shape $type"
    "$aded" bench -m "$model" -t "$threads" -r "$reps" -o json > "$out/$shape-$type.json"
    python3 - "$out/$shape-$type.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
curve = " ".join(f"{c['n']}:{c['rel']:.2f}" for c in j["cost_curve"])
print(f"{j['model']}: pp512 {j['pp512_tps']:.1f} t/s, tg128 {j['tg128_tps']:.1f} ± {j['tg128_sd']:.1f} t/s, "
      f"bandwidth {j['bandwidth_gbps']:.1f} GB/s, limit {j['bandwidth_limit_tps']:.1f} t/s "
      f"({100 * j['bandwidth_fraction']:.0f}%), n=1 {j['cost_curve'][0]['ms']:.2f} ms, curve {curve}")
PY
  done
done
