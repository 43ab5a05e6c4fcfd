#!/usr/bin/env python3
"""The validation grid that chose `--confidence`'s default for `als` and `cke`
(docs/benchmarks.md, "Rating-valued confidence"): validation rows carved from the ml-100k folds'
TRAINING files only, never their test files (the carving of knn_validation_grid.py: 20 % of each
user's rows, users with 5 rows or more, Python's random.Random(K) for fold K).

usage: confidence_validation_grid.py [--kgrec target/release/kgrec] [--folds 0,1,2]
                                     [--models als,cke] [--confidence binary,rating]
                                     [--alpha 2,4,8] [--out-dir /tmp/confval]
                                     [--carving knn|sample] [--synth DIR]

`--carving sample` draws another validation set from the same training files: per user with 5
rows or more, random.Random(K).sample of round(0.2 n) of their rows (users in sorted order),
the rows left in file order (knn's carving groups them by user). `--synth DIR` carves DIR/train.tsv
of `cargo run --release --example synth -- ... --test-share 0.2 --out DIR` that way instead (seed
0), cke reading DIR/kg.nt and DIR/links.tsv.

For every combination: `kgrec eval --train vK/train.tsv --test vK/val.tsv -k 10 --model M
--confidence C --alpha A --format json` (cke with kg-dbpedia.nt and link-dbpedia.tsv). Prints
nDCG@10 per fold and the mean.
"""
import argparse, collections, json, random, subprocess, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from knn_validation_grid import CRATE, FOLDS, carve_folds  # noqa: E402

DATA = FOLDS.parent
GRAPH = {"cke": ["--kg", str(DATA / "kg-dbpedia.nt"), "--link", str(DATA / "link-dbpedia.tsv")]}


def carve_sample(folds, out_dir, source=lambda k: FOLDS / f"fold{k}/train.tsv"):
    """The `sample` carving of every fold of `folds` into out_dir/vK; the folds."""
    folds = [int(k) for k in folds.split(",")]
    for k in folds:
        lines = source(k).read_text().splitlines()
        head, rows = lines[0], lines[1:]
        by_user = collections.defaultdict(list)
        for n, line in enumerate(rows):
            by_user[line.split("\t")[0]].append(n)
        rng, held = random.Random(k), set()
        for _, ns in sorted(by_user.items()):
            if len(ns) >= 5:
                held.update(rng.sample(ns, max(1, int(round(len(ns) * 0.2)))))
        out = Path(out_dir) / f"v{k}"
        out.mkdir(parents=True, exist_ok=True)
        tr = [line for n, line in enumerate(rows) if n not in held]
        va = [line for n, line in enumerate(rows) if n in held]
        (out / "train.tsv").write_text("\n".join([head] + tr) + "\n")
        (out / "val.tsv").write_text("\n".join([head] + va) + "\n")
    return folds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kgrec", default=str(CRATE / "target/release/kgrec"))
    ap.add_argument("--folds", default="0,1,2")
    ap.add_argument("--models", default="als,cke")
    ap.add_argument("--confidence", default="binary,rating")
    ap.add_argument("--alpha", default="2,4,8")
    ap.add_argument("--out-dir", default="/tmp/confval")
    ap.add_argument("--carving", default="knn", choices=["knn", "sample"])
    ap.add_argument("--synth", default=None)
    a = ap.parse_args()
    if a.synth:
        d = Path(a.synth)
        GRAPH["cke"] = ["--kg", str(d / "kg.nt"), "--link", str(d / "links.tsv")]
        a.folds, a.carving = "0", "synth"
    if not a.synth and not (FOLDS / "fold0/train.tsv").is_file():
        print(f"confidence_validation_grid: skipped, {FOLDS} is absent", file=sys.stderr)
        return
    if a.carving == "synth":
        folds = carve_sample("0", a.out_dir, lambda _: Path(a.synth) / "train.tsv")
    else:
        folds = (carve_folds if a.carving == "knn" else carve_sample)(a.folds, a.out_dir)
    for m in a.models.split(","):
        for c in a.confidence.split(","):
            for alpha in a.alpha.split(","):
                scores = []
                for k in folds:
                    d = Path(a.out_dir) / f"v{k}"
                    out = subprocess.run(
                        [a.kgrec, "eval", "--train", str(d / "train.tsv"), "--test",
                         str(d / "val.tsv"), "-k", "10", "--model", m, "--confidence", c,
                         "--alpha", alpha, "--format", "json", "--quiet"] + GRAPH.get(m, []),
                        check=True, capture_output=True, text=True)
                    scores.append(json.loads(out.stdout)["ndcg@10"])
                per_fold = " ".join(f"{s:.4f}" for s in scores)
                print(f"{m} --confidence {c} --alpha {alpha}: {per_fold} mean "
                      f"{sum(scores) / len(scores):.4f}", flush=True)


if __name__ == "__main__":
    main()
