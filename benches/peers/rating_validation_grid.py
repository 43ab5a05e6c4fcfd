#!/usr/bin/env python3
"""The validation grid that chose the graph prior's default weight of `svd` and `svdpp`
(docs/benchmarks.md): validation rows carved from the ml-100k folds' TRAINING files only, never
their test files (the same carving as knn_validation_grid.py: 20 % of each user's rows, users
with 5 rows or more, Python's random.Random(K) for fold K).

usage: rating_validation_grid.py [--kgrec target/release/kgrec] [--folds 0,1,2]
                                 [--models svd,svdpp] [--graphs none,dbpedia,freebase]
                                 [--kg-weight 0,1,3,10] [--neighbours 10]
                                 [--out-dir /tmp/ratingval] [--kgrec-args "..."]

For every combination: `kgrec eval --train vK/train.tsv --test vK/val.tsv --task rating
--rating-scale 1:5 --model M [--kg G.kg --link G.link] --kg-weight W --neighbours N
--format json`. Graphs: dbpedia = kg-dbpedia.nt + link-dbpedia.tsv, freebase = ml-100k.kg +
ml-100k.link (`none`: no graph, the weight is moot). Prints RMSE per fold and the mean.
"""
import argparse, json, shlex, subprocess, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from knn_validation_grid import CRATE, FOLDS, carve_folds  # noqa: E402

DATA = FOLDS.parent
GRAPHS = {
    "none": [],
    "dbpedia": ["--kg", str(DATA / "kg-dbpedia.nt"), "--link", str(DATA / "link-dbpedia.tsv")],
    "freebase": ["--kg", str(DATA / "ml-100k.kg"), "--link", str(DATA / "ml-100k.link")],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kgrec", default=str(CRATE / "target/release/kgrec"))
    ap.add_argument("--folds", default="0,1,2")
    ap.add_argument("--models", default="svd,svdpp")
    ap.add_argument("--graphs", default="none,dbpedia,freebase")
    ap.add_argument("--kg-weight", default="0,1,3,10")
    ap.add_argument("--neighbours", default="10")
    ap.add_argument("--out-dir", default="/tmp/ratingval")
    ap.add_argument("--kgrec-args", default="", help="extra flags for kgrec eval (one string)")
    a = ap.parse_args()
    if not (FOLDS / "fold0/train.tsv").is_file():
        print(f"rating_validation_grid: skipped, {FOLDS} is absent", file=sys.stderr)
        return
    folds = carve_folds(a.folds, a.out_dir)
    for m in a.models.split(","):
        for g in a.graphs.split(","):
            weights = ["0"] if g == "none" else a.kg_weight.split(",")
            for w in weights:
                for n in a.neighbours.split(","):
                    scores = []
                    for k in folds:
                        d = Path(a.out_dir) / f"v{k}"
                        out = subprocess.run(
                            [a.kgrec, "eval", "--train", str(d / "train.tsv"), "--test",
                             str(d / "val.tsv"), "--task", "rating", "--rating-scale", "1:5",
                             "--model", m, "--kg-weight", w, "--neighbours", n, "--format",
                             "json", "--quiet"] + GRAPHS[g] + shlex.split(a.kgrec_args),
                            check=True, capture_output=True, text=True)
                        scores.append(json.loads(out.stdout)["rmse"])
                    print(f"{m} {g} w={w} n={n}\t" + "\t".join(f"{v:.4f}" for v in scores)
                          + f"\tmean {sum(scores) / len(scores):.4f}", flush=True)


if __name__ == "__main__":
    main()
