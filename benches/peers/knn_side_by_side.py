#!/usr/bin/env python3
"""kgrec's `itemknn` against `implicit`'s item-item recommenders (CosineRecommender K=20 and
BM25Recommender K=100, the settings the issue measured them at), fold by fold in one run so that the
machine's load falls on both: fit seconds and nDCG@10 / recall@20.

usage: knn_side_by_side.py [--kgrec target/release/kgrec] [--folds 0,1,2,3,4] [--threads 2]
                           [--out-dir /tmp/knn-sbs] [--no-matched]

Run with a Python that has implicit (`pip install implicit`, e.g. ../venv-peers), from the crate
root, after `cargo build --release`. kgrec runs `kgrec eval --model itemknn` with its DEFAULT flags
(and, unless --no-matched, also at implicit's two settings: `--similarity cosine --neighbours 20
--shrink 0` and `--similarity bm25 --neighbours 100 --shrink 0`); its fit seconds are the
`fit_seconds` that `eval --format json` reports (the neighbour lists). The peer's are the wall time
of `model.fit` (the user×item CSR already built, binarised as in ../shared/peers/implicit_peer.py);
its top-20 lists (`recommend(..., filter_already_liked_items=True)`, cold users get nothing: the
folds have none) are scored by ../shared/eval/score_recs.py. Prints every fold's line, the load
average before and after, and the means. Without ../shared/datasets/ml-100k the script says so and
exits 0.
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

CRATE = Path(__file__).resolve().parents[2]
DATA = CRATE / "../shared/datasets/ml-100k"
FOLDS = DATA / "folds"
SCORER = CRATE / "../shared/eval/score_recs.py"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def kgrec_eval(a, fold, flags):
    d = FOLDS / f"fold{fold}"
    args = [a.kgrec, "eval", "--train", str(d / "train.tsv"), "--test", str(d / "test.tsv"),
            "-k", "10,20", "--model", "itemknn", "--format", "json", "--quiet"] + flags
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=CRATE)
    r = json.loads(out.stdout)
    return r["fit_seconds"], r["ndcg@10"], r["recall@20"]


def read_pairs(path):
    with open(path) as f:
        next(f, None)
        return [tuple(line.rstrip("\n").split("\t")[:2]) for line in f if line.strip()]


def peer(a, fold, kind, K):
    import numpy as np
    import scipy.sparse as sp
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
    d = FOLDS / f"fold{fold}"
    train = read_pairs(d / "train.tsv")
    users = sorted({u for u, _ in train})
    items = sorted({i for _, i in train})
    uix = {u: n for n, u in enumerate(users)}
    iix = {i: n for n, i in enumerate(items)}
    pairs = np.array(sorted({(uix[u], iix[i]) for u, i in train}), dtype=np.int64)
    ui = sp.csr_matrix((np.ones(len(pairs), dtype=np.float32), (pairs[:, 0], pairs[:, 1])),
                       shape=(len(users), len(items)))
    model = (CosineRecommender(K=K, num_threads=a.threads) if kind == "cosine"
             else BM25Recommender(K=K, num_threads=a.threads))
    t0 = time.perf_counter()
    model.fit(ui, show_progress=False)
    fit_s = time.perf_counter() - t0
    test_users = [u for u in dict.fromkeys(u for u, _ in read_pairs(d / "test.tsv")) if u in uix]
    rows = np.array([uix[u] for u in test_users])
    ids, scores = model.recommend(rows, sp.csr_matrix(ui[rows]), N=20, filter_already_liked_items=True)
    out_file = Path(a.out_dir) / f"implicit-{kind}{K}-fold{fold}.tsv"
    with open(out_file, "w") as f:
        f.write("user_id\titem_id\trank\tscore\n")
        for u, r_ids, r_sc in zip(test_users, ids, scores):
            kept = [(j, s) for j, s in zip(r_ids, r_sc) if j >= 0 and np.isfinite(s)]
            for r, (j, s) in enumerate(kept, 1):
                f.write(f"{u}\t{items[j]}\t{r}\t{s:.6g}\n")
    scored = subprocess.run([sys.executable, SCORER, "--recs", str(out_file), "--test",
                             str(d / "test.tsv"), "--train", str(d / "train.tsv"), "-k", "10,20",
                             "--json"], check=True, capture_output=True, text=True, cwd=CRATE)
    s = json.loads(scored.stdout)
    return fit_s, s["ndcg@10"], s["recall@20"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kgrec", default=str(CRATE / "target/release/kgrec"))
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--threads", type=int, default=2, help="implicit's OpenMP threads")
    ap.add_argument("--out-dir", default="/tmp/knn-sbs")
    ap.add_argument("--no-matched", action="store_true",
                    help="skip kgrec at implicit's two settings")
    a = ap.parse_args()
    if not (FOLDS / "fold0/train.tsv").is_file():
        print(f"knn_side_by_side: skipped, {FOLDS} is absent", file=sys.stderr)
        return
    os.makedirs(a.out_dir, exist_ok=True)
    import implicit
    configs = [("kgrec itemknn (defaults)", lambda k: kgrec_eval(a, k, []))]
    if not a.no_matched:
        configs += [
            ("kgrec itemknn cosine K=20 shrink 0",
             lambda k: kgrec_eval(a, k, ["--similarity", "cosine", "--neighbours", "20", "--shrink", "0"])),
            ("kgrec itemknn bm25 K=100 shrink 0",
             lambda k: kgrec_eval(a, k, ["--similarity", "bm25", "--neighbours", "100", "--shrink", "0"])),
        ]
    configs += [
        (f"implicit {implicit.__version__} CosineRecommender K=20", lambda k: peer(a, k, "cosine", 20)),
        (f"implicit {implicit.__version__} BM25Recommender K=100", lambda k: peer(a, k, "bm25", 100)),
    ]
    folds = [int(k) for k in a.folds.split(",")]
    print(f"load average at start: {loadavg()}")
    print("fold\tmodel\tfit_s\tndcg@10\trecall@20")
    rows = {name: [] for name, _ in configs}
    for k in folds:
        for name, run in configs:
            r = run(k)
            rows[name].append(r)
            print(f"fold{k}\t{name}\t{r[0]:.3f}\t{r[1]:.4f}\t{r[2]:.4f}", flush=True)
    print(f"load average at end: {loadavg()}")
    print(f"| model | fit s | nDCG@10 | recall@20 |   ({len(folds)}-fold means)")
    print("|---|---|---|---|")
    for name, _ in configs:
        r = rows[name]
        mean = [sum(x[i] for x in r) / len(r) for i in range(3)]
        print(f"| {name} | {mean[0]:.3f} | {mean[1]:.4f} | {mean[2]:.4f} |")


if __name__ == "__main__":
    main()
