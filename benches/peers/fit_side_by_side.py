#!/usr/bin/env python3
"""Fit wall time of kgrec's ALS and BPR against implicit's, same data, factors and iterations,
interleaved fold by fold in one run so that the machine's load falls on both.

usage: fit_side_by_side.py [--cf-folds target/release/examples/cf_folds] [--folds 0,1,2,3,4]
                           [--als-factors 16,64,128] [--bpr-factors 64] [--skip-bpr]
                           [--peer ../shared/peers/implicit_peer.py] [--out-dir /tmp/fit-sbs]

Run with the Python that has implicit (e.g. /tmp/peers/bin/python), from the crate root, after
`cargo build --release --example cf_folds`. Settings are implicit's (`docs/cf-notes.md`): ALS reg 10,
alpha 4, 15 iterations; BPR lr 0.003, reg 0.03, 300 iterations; seed 0; 2 threads each
(RAYON_NUM_THREADS=2, implicit --threads 2). Prints every fold's fit seconds, the load average
before and after, and a table of the means (ratio = implicit s / kgrec s: above 1, kgrec is faster).
The fold files come from `../shared/datasets/ml-100k/folds`; absent, the script says so and exits 0.
"""
import argparse, os, subprocess, sys
from pathlib import Path

CRATE = Path(__file__).resolve().parents[2]
FOLDS = CRATE / "../shared/datasets/ml-100k/folds"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def kgrec_fit(a, fold, model, factors):
    args = [a.cf_folds, "--folds", str(FOLDS), "--fold", str(fold), "--models", model,
            "--out-dir", str(Path(a.out_dir) / "kgrec"), "--seed", "0"]
    if model == "als":
        args += ["--als-factors", str(factors), "--als-reg", "10", "--als-alpha", "4",
                 "--als-iters", "15"]
    else:
        args += ["--bpr-factors", str(factors), "--bpr-lr", "0.003", "--bpr-reg", "0.03",
                 "--bpr-iters", "300"]
    env = dict(os.environ, RAYON_NUM_THREADS="2")
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env, cwd=CRATE)
    for line in out.stdout.splitlines():
        cols = line.split("\t")
        if cols[0] == f"fold{fold}" and cols[1] == model:
            return float(cols[2]), cols[4]
    sys.exit(f"no result line in cf_folds output:\n{out.stdout}")


def implicit_fit(a, fold, model, factors):
    d = FOLDS / f"fold{fold}"
    args = [sys.executable, a.peer, "--train", str(d / "train.tsv"), "--test", str(d / "test.tsv"),
            "--model", model, "--factors", str(factors), "--threads", "2", "--seed", "0",
            "--out", str(Path(a.out_dir) / f"implicit-{model}{factors}-fold{fold}.tsv")]
    if model == "als":
        args += ["--reg", "10", "--alpha", "4", "--iterations", "15"]
    else:
        args += ["--lr", "0.003", "--reg", "0.03", "--iterations", "300"]
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=CRATE)
    for line in out.stdout.splitlines():
        if line.startswith("fit_wall_s\t"):
            return float(line.split("\t")[1])
    sys.exit(f"no fit_wall_s in implicit_peer output:\n{out.stdout}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cf-folds", default=str(CRATE / "target/release/examples/cf_folds"))
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--als-factors", default="16,64,128")
    ap.add_argument("--bpr-factors", default="64")
    ap.add_argument("--skip-bpr", action="store_true")
    ap.add_argument("--peer", default=str(CRATE / "../shared/peers/implicit_peer.py"))
    ap.add_argument("--out-dir", default="/tmp/fit-sbs")
    a = ap.parse_args()
    if not (FOLDS / "fold0/train.tsv").is_file():
        print(f"fit_side_by_side: skipped, {FOLDS} is absent", file=sys.stderr)
        return
    os.makedirs(a.out_dir, exist_ok=True)
    configs = [("als", int(f)) for f in a.als_factors.split(",") if f]
    if not a.skip_bpr:
        configs += [("bpr", int(f)) for f in a.bpr_factors.split(",") if f]
    folds = [int(k) for k in a.folds.split(",")]
    print(f"load average at start: {loadavg()}")
    sums = {c: [0.0, 0.0] for c in configs}
    for fold in folds:
        for model, factors in configs:
            ours, ndcg = kgrec_fit(a, fold, model, factors)
            theirs = implicit_fit(a, fold, model, factors)
            sums[(model, factors)][0] += ours
            sums[(model, factors)][1] += theirs
            print(f"fold{fold}\t{model} {factors} f\tkgrec {ours:.3f} s (nDCG@10 {ndcg})\t"
                  f"implicit {theirs:.3f} s\tload {loadavg()}", flush=True)
    print(f"load average at end: {loadavg()}")
    n = len(folds)
    print(f"\nmeans over {n} fold(s)\n| model | factors | iterations | kgrec fit s | implicit fit s "
          "| ratio (implicit / kgrec) |\n|---|---|---|---|---|---|")
    for (model, factors), (ours, theirs) in sums.items():
        its = 15 if model == "als" else 300
        print(f"| {model.upper()} | {factors} | {its} | {ours / n:.3f} | {theirs / n:.3f} | "
              f"{theirs / ours:.2f}× |")


if __name__ == "__main__":
    main()
