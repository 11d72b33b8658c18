#!/usr/bin/env python3
"""Compares aded's forward pass with llama.cpp's (or scripts/reference_forward.py's, for
architectures llama.cpp c392e50 lacks) on a random-weight model of a named shape, and writes what
the reference computed as a test fixture (tests/data/reference_logits), so CI checks aded against
it without the reference.

  scripts/reference_logits.py --aded build/release/bin/aded --logits /work/llamacpp/logits \
      --shape tiny-phi3 --type F32 [--seed 1] [--tokens 64] [--fixture tests/data/reference_logits/X.txt]

--logits is ../shared/tools/llamacpp/logits (built by ../shared/tools/llamacpp/build.sh) or
scripts/reference_forward.py (same command line).
Prints top-1 agreement over the positions and the largest |aded - reference| over the whole
vocabulary, relative to the spread (standard deviation) of the reference's logits at that position.
Pure Python: the machines this runs on have no numpy.
"""
import argparse
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

FIXED_IDS = 8  # ids spread over the vocabulary, stored beside the reference top ones
TOP_IDS = 8


def read_logits(path, n_vocab):
    data = open(path, "rb").read()
    n = len(data) // 4 // n_vocab
    if n * n_vocab * 4 != len(data):
        sys.exit(f"{path}: {len(data)} bytes are not whole rows of {n_vocab} floats")
    flat = struct.unpack(f"<{n * n_vocab}f", data)
    return [flat[i * n_vocab:(i + 1) * n_vocab] for i in range(n)]


def spread(row):
    mean = sum(row) / len(row)
    return math.sqrt(sum((x - mean) ** 2 for x in row) / len(row))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aded", required=True)
    ap.add_argument("--logits", required=True, help="the reference: llama.cpp's logits tool or reference_forward.py")
    ap.add_argument("--shape", required=True)
    ap.add_argument("--type", default="F32")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--model", help="use this file instead of writing one (not for fixtures)")
    ap.add_argument("--fixture", help="write the reference's numbers here")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model = a.model or os.path.join(tmp, "model.gguf")
        if not a.model:
            run([a.aded, "gen-model", "--shape", a.shape, "--type", a.type, "--seed", str(a.seed), "-o", model])
        rng = random.Random(a.seed)
        # BOS, then ids of the byte tokens every vocabulary aded writes has (3 to 258).
        ids = [1] + [rng.randrange(3, 259) for _ in range(a.tokens - 1)]
        ids_path = os.path.join(tmp, "ids.txt")
        open(ids_path, "w").write(" ".join(map(str, ids)) + "\n")
        ref_path, ours_path = os.path.join(tmp, "ref.f32"), os.path.join(tmp, "ours.f32")
        run([a.logits, model, ids_path, ref_path])
        run([a.aded, "eval", "-m", model, "-f", ids_path, "-o", ours_path])
        n_vocab = os.path.getsize(ours_path) // 4 // len(ids)
        ref, ours = read_logits(ref_path, n_vocab), read_logits(ours_path, n_vocab)

    agree, worst = 0, 0.0
    rows, close_calls = [], []
    fixed = [int(i * (n_vocab - 1) / (FIXED_IDS - 1)) for i in range(FIXED_IDS)]
    for pos, (r, o) in enumerate(zip(ref, ours)):
        order = sorted(range(n_vocab), key=lambda i: -r[i])
        sd = spread(r)
        ours_top = max(range(n_vocab), key=lambda i: o[i])
        agree += order[0] == ours_top
        if ours_top != order[0]:
            close_calls.append((r[order[0]] - r[ours_top]) / sd)
        worst = max(worst, max(abs(x - y) for x, y in zip(r, o)) / sd)
        keep = order[:TOP_IDS] + [i for i in fixed if i not in order[:TOP_IDS]]
        rows.append(f"{pos} {order[0]} {r[order[0]] - r[order[1]]:.6g} {sd:.6g} " +
                    " ".join(f"{i}:{r[i]:.7g}" for i in keep))
    reference = ("scripts/reference_forward.py (pure Python, double precision)"
                 if os.path.basename(a.logits) == "reference_forward.py"
                 else "llama.cpp c392e50 (../shared/tools/llamacpp/logits)")
    print(f"{a.shape} {a.type}: top-1 agreement {agree}/{len(ref)}, "
          f"largest |aded - reference| / spread {worst:.2e}" +
          (f"; where the top-1 differs, the reference's logits of the two differ by at most "
           f"{max(close_calls):.2e} of the spread" if close_calls else ""))

    if a.fixture:
        with open(a.fixture, "w") as f:
            f.write(f"# The logits of {reference} for a random-weight model, written by\n")
            f.write(f"# scripts/reference_logits.py --shape {a.shape} --type {a.type} --seed {a.seed} --tokens {a.tokens}\n")
            f.write(f"# aded then: top-1 {agree}/{len(ref)}, largest difference / spread {worst:.2e}\n")
            f.write("# per position: the reference's top-1 id, its margin over the second, the logits' standard\n")
            f.write("# deviation, then id:logit for its top ids and ids spread over the vocabulary\n")
            f.write(f"shape {a.shape}\ntype {a.type}\nseed {a.seed}\n")
            f.write("ids " + " ".join(map(str, ids)) + "\n")
            f.write("\n".join(rows) + "\n")
        print(f"wrote {a.fixture}")


if __name__ == "__main__":
    main()
