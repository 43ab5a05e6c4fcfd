#!/usr/bin/env python3
"""kgrec's rating models (`svd`, `svdpp`) against Surprise's SVD and SVD++, fold by fold in one run
so that the machine's load falls on both: RMSE, MAE and fit seconds per fold, then the means.

usage: rating_side_by_side.py [--kgrec target/release/kgrec] [--folds 0,1,2,3,4]
                              [--models svd,svdpp,svd+dbpedia,svdpp+dbpedia,svdpp+freebase]
                              [--skip-peer] [--kgrec-args "--dim 50 ..."]

A model `M+G` is kgrec's M with the graph G (its graph variant: the graph prior at its default
weight): dbpedia = ../shared/datasets/ml-100k/kg-dbpedia.nt + link-dbpedia.tsv, freebase =
ml-100k.kg + ml-100k.link, passed as `--kg` and `--link`; plain M runs without a graph (the
prior is then off). Surprise runs once per plain M (it has no graph variant).

Run with a Python that has Surprise (`pip install scikit-surprise`, e.g. /work/venv-peers), from the
crate root, after `cargo build --release`. Surprise runs with its defaults (SVD: 100 factors, 20
epochs, lr 0.005, reg 0.02; SVD++: 20 factors, 20 epochs, lr 0.007, reg 0.02), random_state 0, on
the fold's train.tsv with rating_scale (1, 5), scored on test.tsv with surprise.accuracy; its fit
seconds are the wall time of `algo.fit(trainset)` (the trainset already built). kgrec runs
`kgrec eval --task rating --model M --rating-scale 1:5 --format json` with its default flags (or
--kgrec-args); its fit seconds are the `fit_seconds` eval reports (the SGD and building the stored
model, the matrix already built). Prints every fold's line, the load average before and after each
fold, and the means with their standard deviations (ratio = peer s / kgrec s: above 1, kgrec is
faster). Without ../shared/datasets/ml-100k the script says so and exits 0.
"""
import argparse, json, os, shlex, statistics, subprocess, sys, time
from pathlib import Path

CRATE = Path(__file__).resolve().parents[2]
FOLDS = CRATE / "../shared/datasets/ml-100k/folds"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


DATA = FOLDS.parent
GRAPHS = {
    "dbpedia": ["--kg", str(DATA / "kg-dbpedia.nt"), "--link", str(DATA / "link-dbpedia.tsv")],
    "freebase": ["--kg", str(DATA / "ml-100k.kg"), "--link", str(DATA / "ml-100k.link")],
}


def kgrec_eval(a, fold, model):
    d = FOLDS / f"fold{fold}"
    model, _, graph = model.partition("+")
    args = [a.kgrec, "eval", "--train", str(d / "train.tsv"), "--test", str(d / "test.tsv"),
            "--model", model, "--task", "rating", "--rating-scale", "1:5", "--format", "json",
            "--quiet"] + GRAPHS.get(graph, []) + shlex.split(a.kgrec_args)
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=CRATE)
    r = json.loads(out.stdout)
    return r["fit_seconds"], r["rmse"], r["mae"]


def folds_of(data):
    """Surprise 1.1 builds (trainset, testset) pairs of predefined folds through a PredefinedKFold."""
    from surprise.model_selection import PredefinedKFold
    return PredefinedKFold().split(data)


def peer_fit(fold, model):
    from surprise import SVD, SVDpp, Dataset, Reader, accuracy
    d = FOLDS / f"fold{fold}"
    reader = Reader(line_format="user item rating timestamp", sep="\t", skip_lines=1,
                    rating_scale=(1, 5))
    data = Dataset.load_from_folds([(str(d / "train.tsv"), str(d / "test.tsv"))], reader)
    trainset, testset = next(folds_of(data))
    algo = SVD(random_state=0) if model == "svd" else SVDpp(random_state=0)
    start = time.perf_counter()
    algo.fit(trainset)
    fit = time.perf_counter() - start
    predictions = algo.test(testset)
    return fit, accuracy.rmse(predictions, verbose=False), accuracy.mae(predictions, verbose=False)


def mean_sd(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kgrec", default=str(CRATE / "target/release/kgrec"))
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--models", default="svd,svdpp,svd+dbpedia,svdpp+dbpedia,svd+freebase,"
                    "svdpp+freebase")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--kgrec-args", default="", help="extra flags for kgrec eval (one string)")
    a = ap.parse_args()
    if not FOLDS.is_dir():
        print(f"no {FOLDS}: nothing to compare")
        return 0
    folds = [int(f) for f in a.folds.split(",")]
    models = a.models.split(",")
    rows = {(who, m): [] for who in ("kgrec", "surprise") for m in models}
    w = max(6, max(len(m) for m in models))
    print(f"{'fold':>4}  {'model':<{w}} {'who':<9} {'fit s':>7} {'RMSE':>7} {'MAE':>7}  load")
    for fold in folds:
        for m in models:
            before = loadavg()
            k = kgrec_eval(a, fold, m)
            rows[("kgrec", m)].append(k)
            print(f"{fold:>4}  {m:<{w}} {'kgrec':<9} {k[0]:>7.3f} {k[1]:>7.4f} {k[2]:>7.4f}  "
                  f"{before} -> {loadavg()}", flush=True)
            if not a.skip_peer and "+" not in m:
                before = loadavg()
                p = peer_fit(fold, m)
                rows[("surprise", m)].append(p)
                print(f"{fold:>4}  {m:<{w}} {'surprise':<9} {p[0]:>7.3f} {p[1]:>7.4f} {p[2]:>7.4f}  "
                      f"{before} -> {loadavg()}", flush=True)
    print()
    print(f"means over folds {a.folds}:")
    print(f"{'model':<{w}} {'who':<9} {'fit s':>7} {'RMSE':>15} {'MAE':>7}  peer s / kgrec s")
    for m in models:
        for who in ("kgrec", "surprise"):
            r = rows[(who, m)]
            if not r:
                continue
            fit = statistics.mean(x[0] for x in r)
            rmse, sd = mean_sd([x[1] for x in r])
            mae = statistics.mean(x[2] for x in r)
            ratio = ""
            if who == "surprise" and rows[("kgrec", m)]:
                ratio = f"{fit / statistics.mean(x[0] for x in rows[('kgrec', m)]):.1f}x"
            print(f"{m:<{w}} {who:<9} {fit:>7.3f} {rmse:>8.4f} ± {sd:.4f} {mae:>7.4f}  {ratio}")
    print(f"load average at the end: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
