#!/usr/bin/env python3
"""Code-completion prompts from a Python corpus of '# ==== file: PATH' sections (the corpus of
../shared/data/corpora/python): each prompt is the text before a function definition (up to
--context bytes, from a line start within the same file) and the definition's first line, so the
model continues with the body. One JSON object per line, {"prompt": ...}, as the bench tools read.

  make_code_prompts.py CORPUS -o OUT.jsonl [--count N] [--seed S] [--context BYTES]

Definitions are chosen uniformly at random (seeded) among those with at least 200 bytes of the
file before them, at most one per file and line.
"""
import argparse
import json
import random
import re
import sys


def sections(text):
    """(name, body) of each '# ==== file: PATH' section."""
    parts = re.split(r"^# ==== file: (.*)\n", text, flags=re.M)
    # parts: [before, name1, body1, name2, body2, ...]
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--context", type=int, default=600, help="most bytes before the definition")
    args = ap.parse_args()
    if args.count < 1 or args.context < 200:
        sys.exit("make_code_prompts: --count must be >= 1 and --context >= 200")
    try:
        with open(args.corpus, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        sys.exit(f"make_code_prompts: {args.corpus}: {e.strerror}")
    candidates = []
    for name, body in sections(text):
        for m in re.finditer(r"^[ \t]*(?:async )?def [A-Za-z_][A-Za-z0-9_]*\(.*\n", body, flags=re.M):
            if m.start() >= 200:
                candidates.append((name, body, m.start(), m.end()))
    if not candidates:
        sys.exit(f"make_code_prompts: {args.corpus}: no function definitions in '# ==== file:' sections")
    rng = random.Random(args.seed)
    rng.shuffle(candidates)
    chosen = candidates[: args.count]
    if len(chosen) < args.count:
        print(f"make_code_prompts: only {len(chosen)} definitions in {args.corpus}", file=sys.stderr)
    with open(args.output, "w", encoding="utf-8") as out:
        for name, body, start, end in chosen:
            begin = max(0, start - args.context)
            line = body.rfind("\n", 0, begin)
            begin = 0 if begin == 0 else line + 1
            out.write(json.dumps({"file": name, "prompt": body[begin:end]}) + "\n")
    print(f"make_code_prompts: {len(chosen)} prompts -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
