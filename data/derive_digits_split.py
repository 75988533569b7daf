#!/usr/bin/env python3
"""Derives data/digits_split.txt: the rows of digits.csv.gz that form the golden train/test split.

Each row of tests/golden/digits_split/{train,test}_x.tsv (pixel/16) with its label is matched to a row of
digits.csv.gz with the same 64 pixels and the same label. Identical images with the same label are assigned in
order: the k-th such row of the golden files (train before test, top to bottom) takes the k-th unused matching
CSV row in ascending row order. Standard library only. Run from the crate root.
"""
import gzip
from collections import defaultdict

rows = defaultdict(list)
with gzip.open("data/digits.csv.gz", "rt") as f:
    for i, line in enumerate(f):
        vals = [int(v) for v in line.strip().split(",")]
        rows[tuple(vals)].append(i)

out = ["# Row indices (0-based) into data/digits.csv.gz of the golden train/test split, in the golden order:",
       "# scikit-learn train_test_split(test_size=0.25, random_state=0) of load_digits.",
       "# Derived by data/derive_digits_split.py from tests/golden/digits_split/ (image and label matched;",
       "# duplicates assigned in order). One line per sample: `train <row>` or `test <row>`."]
for part in ("train", "test"):
    xs = open(f"tests/golden/digits_split/{part}_x.tsv").read().split("\n")
    ys = open(f"tests/golden/digits_split/{part}_y.txt").read().split()
    xs = [x for x in xs if x.strip()]
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        px = [round(float(v) * 16) for v in x.split("\t")]
        assert all(abs(float(v) * 16 - p) < 1e-9 for v, p in zip(x.split("\t"), px))
        key = tuple(px + [int(y)])
        out.append(f"{part} {rows[key].pop(0)}")

open("data/digits_split.txt", "w").write("\n".join(out) + "\n")
