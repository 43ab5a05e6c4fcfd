#!/usr/bin/env python3
"""kgrec's `ease` and `kg-ease` against the numpy EASE peer (../shared/peers/ease_peer.py), fold by
fold in one run so that the machine's load falls on both: fit seconds and nDCG@10 / recall@20.

usage: ease_side_by_side.py [--kgrec target/release/kgrec] [--folds 0,1,2,3,4] [--skip-graph]
                            [--peer ../shared/peers/ease_peer.py] [--out-dir /tmp/ease-sbs]
                            [--peer-lam 400] [--peer-alpha 2]

Run with a Python that has numpy (e.g. a venv with `pip install numpy`), from the crate root, after
`cargo build --release`. kgrec runs with its default flags (`kgrec eval --model ease|kg-ease`, the
graph kg-dbpedia.nt + link-dbpedia.tsv for kg-ease); its fit seconds are the `fit_seconds` that
`eval --format json` reports (the Gram matrix, the factorisation and B; for kg-ease also the
features and the interaction-only B that splits scores). The peer's are its `fit_wall_s` (Gram
matrix and inverse, X already built), its lists scored by ../shared/eval/score_recs.py. Prints every
fold's line, the load average before and after, and the means (ratio = peer s / kgrec s: above 1,
kgrec is faster). Without ../shared/datasets/ml-100k the script says so and exits 0.
"""
import argparse, json, os, subprocess, sys
from pathlib import Path

CRATE = Path(__file__).resolve().parents[2]
DATA = CRATE / "../shared/datasets/ml-100k"
FOLDS = DATA / "folds"
SCORER = CRATE / "../shared/eval/score_recs.py"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def kgrec_eval(a, fold, model):
    d = FOLDS / f"fold{fold}"
    args = [a.kgrec, "eval", "--train", str(d / "train.tsv"), "--test", str(d / "test.tsv"),
            "-k", "10,20", "--model", model, "--format", "json", "--quiet"]
    if model == "kg-ease":
        args += ["--kg", str(DATA / "kg-dbpedia.nt"), "--link", str(DATA / "link-dbpedia.tsv")]
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=CRATE)
    report = json.loads(out.stdout)
    return report["fit_seconds"], metric(report, "ndcg", 10), metric(report, "recall", 20)


def metric(report, name, k):
    value = report.get(f"{name}@{k}")
    if value is None:
        sys.exit(f"no {name}@{k} in kgrec eval's report: {report}")
    return value


def peer(a, fold, graph):
    d = FOLDS / f"fold{fold}"
    out_file = Path(a.out_dir) / f"peer-{'kg' if graph else 'plain'}-fold{fold}.tsv"
    args = [sys.executable, a.peer, "--train", str(d / "train.tsv"), "--out", str(out_file),
            "--lam", str(a.peer_lam), "-k", "20"]
    if graph:
        args += ["--kg", str(DATA / "kg-dbpedia.nt"), "--link", str(DATA / "link-dbpedia.tsv"),
                 "--alpha", str(a.peer_alpha)]
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=CRATE)
    fit = None
    for line in out.stderr.splitlines():
        if line.startswith("fit_wall_s"):
            fit = float(line.split()[1])
    if fit is None:
        sys.exit(f"no fit_wall_s in ease_peer output:\n{out.stderr}")
    scored = subprocess.run([sys.executable, SCORER, "--recs", str(out_file), "--test",
                             str(d / "test.tsv"), "--train", str(d / "train.tsv"), "-k", "10,20",
                             "--json"], check=True, capture_output=True, text=True, cwd=CRATE)
    s = json.loads(scored.stdout)
    return fit, s["ndcg@10"], s["recall@20"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kgrec", default=str(CRATE / "target/release/kgrec"))
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--skip-graph", action="store_true")
    ap.add_argument("--peer", default=str(CRATE / "../shared/peers/ease_peer.py"))
    ap.add_argument("--peer-lam", type=float, default=400.0)
    ap.add_argument("--peer-alpha", type=float, default=2.0)
    ap.add_argument("--out-dir", default="/tmp/ease-sbs")
    a = ap.parse_args()
    if not (FOLDS / "fold0/train.tsv").is_file():
        print(f"ease_side_by_side: skipped, {FOLDS} is absent", file=sys.stderr)
        return
    os.makedirs(a.out_dir, exist_ok=True)
    folds = [int(k) for k in a.folds.split(",")]
    configs = [("ease", False)] + ([] if a.skip_graph else [("kg-ease", True)])
    print(f"load average at start: {loadavg()}")
    print("fold\tmodel\tkgrec_fit_s\tpeer_fit_s\tkgrec_ndcg@10\tpeer_ndcg@10\tkgrec_recall@20\tpeer_recall@20")
    rows = {m: [] for m, _ in configs}
    for k in folds:
        for model, graph in configs:
            ours = kgrec_eval(a, k, model)
            theirs = peer(a, k, graph)
            rows[model].append(ours + theirs)
            print(f"fold{k}\t{model}\t{ours[0]:.3f}\t{theirs[0]:.3f}\t{ours[1]:.4f}\t{theirs[1]:.4f}"
                  f"\t{ours[2]:.4f}\t{theirs[2]:.4f}", flush=True)
    print(f"load average at end: {loadavg()}")
    print("| model | kgrec fit s | numpy fit s | ratio (numpy / kgrec) | kgrec nDCG@10 | numpy nDCG@10 | kgrec recall@20 | numpy recall@20 |")
    print("|---|---|---|---|---|---|---|---|")
    for model, _ in configs:
        r = rows[model]
        mean = [sum(x[i] for x in r) / len(r) for i in range(6)]
        print(f"| {model} | {mean[0]:.3f} | {mean[3]:.3f} | {mean[3] / mean[0]:.2f}x | {mean[1]:.4f} "
              f"| {mean[4]:.4f} | {mean[2]:.4f} | {mean[5]:.4f} |")


if __name__ == "__main__":
    main()
