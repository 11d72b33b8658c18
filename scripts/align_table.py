#!/usr/bin/env python3
"""The paper's table from the JSON files of scripts/align_code_drafters.sh (OUT/eval/NAME-SET-tT.json):
one markdown table per prompt set, a row per drafter: alpha, tau(4), MBSU(4) and the measured speed-up
of draft:model=DRAFTER over plain decoding, greedy and at 0.8.

  align_table.py [EVAL_DIR]     (default build/align/eval)
"""
import json
import os
import sys

DRAFTERS = [("pretrained", "pretrained only"), ("fkl", "FKL"), ("rkl", "RKL"), ("tvd", "TVD"),
            ("tvdpp-batch", "TVD++ (per batch)"), ("tvdpp-position", "TVD++ (per position)")]
SETS = [("heldout", "held-out stdlib functions"), ("humaneval40", "HumanEval, first 40")]
TEMPS = ["0", "0.8"]


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "build/align/eval"
    for set_name, title in SETS:
        print(f"\n{title}:\n")
        head = "| drafter |"
        rule = "|---|"
        for t in TEMPS:
            head += f" α (T={t}) | τ(4) | MBSU(4) | speed-up |"
            rule += "---:|---:|---:|---:|"
        print(head)
        print(rule)
        for key, label in DRAFTERS:
            row = f"| {label} |"
            for t in TEMPS:
                path = os.path.join(folder, f"{key}-{set_name}-t{t}.json")
                try:
                    with open(path) as f:
                        j = json.load(f)
                except OSError:
                    row += " - | - | - | - |"
                    continue
                speed = j.get("speedup")
                row += f" {j['alpha']:.3f} | {j['tau'][3]:.3f} | {j['mbsu'][3]:.3f} | " + \
                       (f"{speed:.2f}x |" if speed else "- |")
            print(row)


if __name__ == "__main__":
    main()
