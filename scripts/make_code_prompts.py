#!/usr/bin/env python3
"""Code-completion prompts from a Python corpus of '# ==== file: PATH' sections (the corpus of
../shared/data/corpora/python): each prompt is the text before a function definition (up to
--context bytes, from a line start within the same file) and the definition's first line, so the
model continues with the body. One JSON object per line, {"prompt": ...}, as the bench tools read.

  make_code_prompts.py CORPUS -o OUT.jsonl [--count N] [--seed S] [--context BYTES]
                       [--min-before BYTES] [--category NAME]

Definitions are chosen uniformly at random (seeded) among those with at least --min-before bytes
(default 200) of the file before them. The same --seed and --min-before choose the same
definitions whatever --context is, so long and short prompts ending at the same place can be
compared (e.g. --min-before 12000 with --context 600, 6000 and 12000; --category labels each set
for the bench tools' per-category tables).
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
    ap.add_argument("--min-before", type=int, default=200, help="fewest bytes of its file before a definition")
    ap.add_argument("--category", help="a category written with each prompt")
    args = ap.parse_args()
    if args.count < 1 or args.context < 200 or args.min_before < 0:
        sys.exit("make_code_prompts: --count must be >= 1, --context >= 200 and --min-before >= 0")
    try:
        with open(args.corpus, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        sys.exit(f"make_code_prompts: {args.corpus}: {e.strerror}")
    candidates = []
    for name, body in sections(text):
        for m in re.finditer(r"^[ \t]*(?:async )?def [A-Za-z_][A-Za-z0-9_]*\(.*\n", body, flags=re.M):
            if m.start() >= args.min_before:
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
            record = {"file": name, "prompt": body[begin:end]}
            if args.category:
                record["category"] = args.category
            out.write(json.dumps(record) + "\n")
    print(f"make_code_prompts: {len(chosen)} prompts -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
