#!/usr/bin/env python3
"""A mixed prompt set where different drafters win (the drafter-selection benchmark): one JSON
object per line, {"prompt", "category", "task_id"}, as bench-spec reads them.

  make_mixed_prompts.py --humaneval HumanEval.jsonl.gz --corpus python-stdlib-valid.txt -o OUT.jsonl
      [--per-category N] [--seed S] [--held-out K --held-out-output HELD.jsonl]

With --held-out, K more prompts per category, none of them in OUT, go to HELD (for a policy
learned on OUT's results and measured on prompts it never saw).

Categories (N each):
  code   HumanEval prompts (the model writes a new function body: table statistics help).
  edit   a top-level function of the corpus, then a comment asking for a copy with a new name
         and the copy's first line (the model repeats its input: prompt lookup wins).
  prose  the first line of a docstring of the corpus, opened as a module docstring (the model
         writes English in Python's style).
The corpus should be one the tri-gram table did not see (the valid split).
"""
import argparse
import gzip
import json
import random
import re
import sys


def functions(text):
    """Top-level functions of 300-1500 bytes: (name, source)."""
    out = []
    for m in re.finditer(r"^def (\w+)\(.*?(?=^\S|\Z)", text, flags=re.M | re.S):
        src = m.group(0).rstrip() + "\n"
        if 300 <= len(src) <= 1500:
            out.append((m.group(1), src))
    return out


def docstring_lines(text):
    out = []
    for m in re.finditer(r'^\s*"""([A-Z][^\n"]{30,100}[.:])\s*$', text, flags=re.M):
        out.append(m.group(1))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--humaneval", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--per-category", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--held-out", type=int, default=0)
    ap.add_argument("--held-out-output")
    args = ap.parse_args()
    if args.per_category < 1:
        sys.exit("make_mixed_prompts: --per-category must be >= 1")
    if args.held_out < 0 or (args.held_out > 0) != bool(args.held_out_output):
        sys.exit("make_mixed_prompts: --held-out K (K >= 1) and --held-out-output FILE go together")
    try:
        with gzip.open(args.humaneval, "rt", encoding="utf-8") as f:
            humaneval = [json.loads(line) for line in f if line.strip()]
        with open(args.corpus, encoding="utf-8") as f:
            corpus = f.read()
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"make_mixed_prompts: {e}")
    rng = random.Random(args.seed)
    n = args.per_category
    k = n + args.held_out
    rows = []  # per category: the first n for OUT, the rest held out
    for p in rng.sample(humaneval, min(k, len(humaneval))):
        rows.append({"prompt": p["prompt"], "category": "code", "task_id": p["task_id"]})
    funcs = functions(corpus)
    for i, (name, src) in enumerate(rng.sample(funcs, min(k, len(funcs)))):
        head = src.split("\n", 1)[0].replace(f"def {name}(", f"def {name}_copy(", 1)
        prompt = f"{src}\n\n# {name}_copy: the same as {name}, line for line.\n{head}\n"
        rows.append({"prompt": prompt, "category": "edit", "task_id": f"edit/{i}"})
    docs = docstring_lines(corpus)
    for i, line in enumerate(rng.sample(docs, min(k, len(docs)))):
        rows.append({"prompt": f'"""{line}\n\n', "category": "prose", "task_id": f"prose/{i}"})
    seen = {}
    parts = {args.output: [], args.held_out_output: []}
    for r in rows:
        seen[r["category"]] = seen.get(r["category"], 0) + 1
        parts[args.output if seen[r["category"]] <= n else args.held_out_output].append(r)
    for path, part in parts.items():
        if not path:
            continue
        with open(path, "w", encoding="utf-8") as f:
            for r in part:
                f.write(json.dumps(r) + "\n")
        counts = {c: sum(r["category"] == c for r in part) for c in ("code", "edit", "prose")}
        print(f"wrote {path}: {len(part)} prompts {counts}")


if __name__ == "__main__":
    main()
