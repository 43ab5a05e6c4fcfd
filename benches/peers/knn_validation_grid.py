#!/usr/bin/env python3
"""The validation grid that chose itemknn's and userknn's defaults (docs/benchmarks.md): validation
rows carved from the ml-100k folds' TRAINING files only, never their test files.

usage: knn_validation_grid.py [--kgrec target/release/kgrec] [--folds 0,1,2] [--model itemknn]
                              [--similarity bm25] [--neighbours 200,300,400] [--shrink 15,25,35,50]
                              [--out-dir /tmp/knnval]

For each fold K: 20 % of each user's items (users with 5 items or more; the user's rows sorted,
shuffled with Python's random.Random(K)) become vK/val.tsv, the rest vK/train.tsv; then
`kgrec eval --train vK/train.tsv --test vK/val.tsv -k 10 --model M --similarity S --neighbours N
--shrink s --format json` for every combination. Prints nDCG@10 per fold and the mean.
"""
import argparse, json, random, subprocess, sys
from pathlib import Path

CRATE = Path(__file__).resolve().parents[2]
FOLDS = CRATE / "../shared/datasets/ml-100k/folds"


def carve(train, seed, out):
    rows = train.read_text().splitlines()
    head, by = rows[0], {}
    for line in rows[1:]:
        by.setdefault(line.split("\t")[0], []).append(line)
    r, tr, va = random.Random(seed), [], []
    for u in sorted(by):
        lines = sorted(by[u])
        r.shuffle(lines)
        nv = round(0.2 * len(lines)) if len(lines) >= 5 else 0
        va += lines[:nv]
        tr += lines[nv:]
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.tsv").write_text("\n".join([head] + tr) + "\n")
    (out / "val.tsv").write_text("\n".join([head] + va) + "\n")


def carve_folds(folds, out_dir):
    """Carves the training file of every fold of `folds` ("0,1,2") into out_dir/vK; the folds."""
    folds = [int(k) for k in folds.split(",")]
    for k in folds:
        carve(FOLDS / f"fold{k}/train.tsv", k, Path(out_dir) / f"v{k}")
    return folds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kgrec", default=str(CRATE / "target/release/kgrec"))
    ap.add_argument("--folds", default="0,1,2")
    ap.add_argument("--model", default="itemknn", choices=["itemknn", "userknn"])
    ap.add_argument("--similarity", default="bm25")
    ap.add_argument("--neighbours", default="200,300,400")
    ap.add_argument("--shrink", default="15,25,35,50")
    ap.add_argument("--out-dir", default="/tmp/knnval")
    a = ap.parse_args()
    if not (FOLDS / "fold0/train.tsv").is_file():
        print(f"knn_validation_grid: skipped, {FOLDS} is absent", file=sys.stderr)
        return
    folds = carve_folds(a.folds, a.out_dir)
    for s in a.similarity.split(","):
        for n in a.neighbours.split(","):
            for shrink in a.shrink.split(","):
                scores = []
                for k in folds:
                    d = Path(a.out_dir) / f"v{k}"
                    out = subprocess.run(
                        [a.kgrec, "eval", "--train", str(d / "train.tsv"), "--test",
                         str(d / "val.tsv"), "-k", "10", "--model", a.model, "--similarity", s,
                         "--neighbours", n, "--shrink", shrink, "--format", "json", "--quiet"],
                        check=True, capture_output=True, text=True)
                    scores.append(json.loads(out.stdout)["ndcg@10"])
                print(f"{a.model} {s} K={n} s={shrink}\t" + "\t".join(f"{v:.4f}" for v in scores)
                      + f"\tmean {sum(scores) / len(scores):.4f}", flush=True)


if __name__ == "__main__":
    main()
