#!/usr/bin/env python3
"""Peer timing for `cargo bench --bench batch_recommend`: implicit's batch top-K for every user.

usage: implicit_batch.py [--train TRAIN.tsv] [--factors 64,128] [--repeats 30] [--threads 2]
                         [--criterion-dir DIR]

Fits implicit's ALS (reg 10, alpha 4, 15 iterations, seed 0) on TRAIN (default: ml-100k fold0,
`../shared/datasets/ml-100k/folds/fold0/train.tsv` relative to the crate root) at each factor size,
then times `model.recommend(userids, user_items, N=20, filter_already_liked_items=True)` for all
users at once: one warm-up call, then --repeats calls; prints the median and the minimum in ms.
Exits 0 with a message when the data set is absent.

Threads: implicit's top-K runs --threads OpenMP threads, each calling single-threaded BLAS
(OPENBLAS_NUM_THREADS=1, implicit's own advice), the same 2 cores kgrec's rayon pool uses.

With --criterion-dir (criterion's output folder, `$CARGO_TARGET_DIR/criterion`), also reads the
median of kgrec's last `batch_recommend` run for each factor size and prints the side-by-side table
(ratio = implicit ms / kgrec ms: above 1, kgrec is faster).
"""
import argparse, json, os, statistics, sys, time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")

CRATE = Path(__file__).resolve().parents[2]
DEFAULT_TRAIN = CRATE / "../shared/datasets/ml-100k/folds/fold0/train.tsv"
GROUP = "batch_recommend_all_users_k20"
K = 20


def read_matrix(path):
    import numpy as np
    import scipy.sparse as sp

    with open(path) as f:
        next(f, None)
        rows = [line.rstrip("\n").split("\t")[:2] for line in f if line.strip()]
    uix, iix = {}, {}
    pairs = sorted({(uix.setdefault(u, len(uix)), iix.setdefault(i, len(iix))) for u, i in rows})
    pairs = np.array(pairs, dtype=np.int64)
    return sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.float32), (pairs[:, 0], pairs[:, 1])),
        shape=(len(uix), len(iix)),
    )


def kgrec_median_ms(criterion_dir, factors):
    est = Path(criterion_dir) / GROUP / "als" / str(factors) / "new" / "estimates.json"
    if not est.is_file():
        return None
    return json.loads(est.read_text())["median"]["point_estimate"] / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default=str(DEFAULT_TRAIN))
    ap.add_argument("--factors", default="64,128")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--criterion-dir")
    a = ap.parse_args()
    if not Path(a.train).is_file():
        print(f"implicit_batch: skipped, {a.train} is absent", file=sys.stderr)
        return

    import numpy as np
    import implicit
    from implicit.cpu.als import AlternatingLeastSquares

    ui = read_matrix(a.train)
    userids = np.arange(ui.shape[0])
    print(f"implicit {implicit.__version__}: {ui.shape[0]} users, {ui.shape[1]} items, {ui.nnz} "
          f"positives, K = {K}, {a.threads} threads, OPENBLAS_NUM_THREADS="
          f"{os.environ['OPENBLAS_NUM_THREADS']}")
    table = []
    for factors in [int(f) for f in a.factors.split(",")]:
        model = AlternatingLeastSquares(factors=factors, regularization=10.0, alpha=4.0,
                                        iterations=15, num_threads=a.threads, random_state=0)
        t0 = time.perf_counter()
        model.fit(ui, show_progress=False)
        fit_s = time.perf_counter() - t0

        def run():
            return model.recommend(userids, ui, N=K, filter_already_liked_items=True)

        ids, _ = run()  # warm-up, and the same checks the Rust bench makes
        assert ids.shape == (ui.shape[0], K) and (ids >= 0).all()
        for u in range(ui.shape[0]):
            seen = ui.indices[ui.indptr[u]:ui.indptr[u + 1]]
            assert not np.isin(ids[u], seen).any(), "a training item leaked"
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1e3)
        med = statistics.median(times)
        print(f"implicit_batch\tfactors {factors}\tmedian {med:.2f} ms\tmin {min(times):.2f} ms"
              f"\t({a.repeats} runs; ALS fit {fit_s:.2f} s, item factors "
              f"{model.item_factors.shape})")
        table.append((factors, med))

    if a.criterion_dir:
        print("\n| factors | kgrec ms | implicit ms | ratio (implicit / kgrec) |\n|---|---|---|---|")
        for factors, med in table:
            ours = kgrec_median_ms(a.criterion_dir, factors)
            if ours is None:
                print(f"| {factors} | (no criterion result) | {med:.2f} | |")
            else:
                print(f"| {factors} | {ours:.2f} | {med:.2f} | {med / ours:.2f}× |")


if __name__ == "__main__":
    main()
