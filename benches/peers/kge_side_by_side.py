#!/usr/bin/env python3
"""Training throughput and test MRR of kgrec's TransE against PyKEEN's, same model, dimension,
negatives, loss, optimiser, batch and epochs, over several seeds, interleaved seed by seed in one
run so that the machine's load falls on both.

usage: kge_side_by_side.py --kgrec target/release/kgrec [--dataset umls] [--seeds 1,2,3,4,5]
                           [--dim 64] [--neg 32] [--gamma 6] [--lr 0.01] [--batch 256]
                           [--epochs 100] [--kgrec-sampling independent[,chunked]]
                           [--peer ../shared/peers/pykeen_peer.py] [--out-dir /tmp/kge-sbs]

Run with the Python that has PyKEEN (e.g. /tmp/peers/bin/python). Both train TransE L1 with the
self-adversarial loss (PyKEEN's NSSA, margin = γ, temperature 1), Adam, no validation or early
stopping, 2 threads, and rank every test triple filtered against train, valid and test with the
mean ("realistic") rank of ties. PyKEEN draws independent negatives, head or tail with probability
1/2; so does kgrec with the default `--kgrec-sampling independent` (`--chunk-size 1 --corrupt
uniform`), while `chunked` keeps kgrec's own defaults (Bernoulli sides, negatives shared by chunks
of 32 positives); `--kgrec-sampling independent,chunked` runs both after each PyKEEN run. Prints
every run and a table of means and standard deviations. The data set comes from
`../shared/datasets/kge/NAME`; absent, the script says so and exits 0.
"""
import argparse, json, os, statistics, subprocess, sys
from pathlib import Path

CRATE = Path(__file__).resolve().parents[2]
DATASETS = CRATE / "../shared/datasets/kge"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_pykeen(a, seed, out):
    args = [sys.executable, a.peer, "--dataset-dir", str(DATASETS / a.dataset), "--model", "TransE",
            "--dim", str(a.dim), "--epochs", str(a.epochs), "--batch", str(a.batch), "--lr", str(a.lr),
            "--neg", str(a.neg), "--loss", "nssa", "--margin", str(a.gamma), "--adv-temp", "1",
            "--norm", "1", "--threads", "2", "--seed", str(seed), "--out", str(out)]
    with open(out / "peer.log", "w") as log:  # follow a long run with tail -f
        subprocess.run(args, check=True, stdout=log, stderr=subprocess.STDOUT, text=True)
    m = json.loads((out / "metrics.json").read_text())
    n = m["triples_used"]["train"] * m["epochs_run"]
    return {"train_s": m["train_s"], "triples_per_s": n / m["train_s"], "mrr": m["mrr"],
            "hits@10": m["hits@10"]}


def run_kgrec(a, seed, sampling):
    args = [a.kgrec, "--quiet", "kge", "train", "--dataset", str(DATASETS / a.dataset), "--model", "transe",
            "--dim", str(a.dim), "--negatives", str(a.neg), "--gamma", str(a.gamma), "--lr", str(a.lr),
            "--batch-size", str(a.batch), "--epochs", str(a.epochs), "--validate-every", "0",
            "--threads", "2", "--seed", str(seed), "--eval-test", "--format", "json"]
    if sampling == "independent":
        args += ["--chunk-size", "1", "--corrupt", "uniform"]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    r = json.loads(out.stdout)
    n = r["num_train"] * len(r["epochs"])
    both = r["test"]["both"]
    return {"train_s": r["train_seconds"], "triples_per_s": n / r["train_seconds"], "mrr": both["mrr"],
            "hits@10": both["hits@10"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kgrec", required=True)
    ap.add_argument("--dataset", default="umls")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--neg", type=int, default=32)
    ap.add_argument("--gamma", type=float, default=6.0)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--kgrec-sampling", default="independent",
                    help="comma-separated: independent (PyKEEN's sampling), chunked (kgrec's defaults)")
    ap.add_argument("--peer", default=str(CRATE / "../shared/peers/pykeen_peer.py"))
    ap.add_argument("--out-dir", default="/tmp/kge-sbs")
    a = ap.parse_args()
    if not (DATASETS / a.dataset / "train.txt").is_file():
        print(f"{DATASETS / a.dataset}: not present, nothing to compare")
        return
    samplings = a.kgrec_sampling.split(",")
    if not set(samplings) <= {"independent", "chunked"}:
        ap.error(f"--kgrec-sampling: expected independent and/or chunked, got {a.kgrec_sampling}")
    names = {s: "kgrec" if samplings == [s] else f"kgrec-{s}" for s in samplings}
    rows = {"pykeen": [], **{names[s]: [] for s in samplings}}
    for seed in [int(s) for s in a.seeds.split(",")]:
        out = Path(a.out_dir) / f"pykeen-seed{seed}"
        out.mkdir(parents=True, exist_ok=True)
        runs = [("pykeen", lambda: run_pykeen(a, seed, out))]
        runs += [(names[s], lambda s=s: run_kgrec(a, seed, s)) for s in samplings]
        for name, run in runs:
            before = loadavg()
            r = run()
            rows[name].append(r)
            print(f"seed {seed}\t{name}\ttrain_s {r['train_s']:.2f}\ttriples/s {r['triples_per_s']:.0f}\t"
                  f"MRR {r['mrr']:.4f}\tHits@10 {r['hits@10']:.4f}\tload {before} -> {loadavg()}", flush=True)
    print("\n| | runs | train s (mean) | triples/s (mean) | test MRR mean ± sd | Hits@10 mean |")
    print("|---|---|---|---|---|---|")
    for name, rs in rows.items():
        mrr = [r["mrr"] for r in rs]
        sd = statistics.stdev(mrr) if len(mrr) > 1 else 0.0
        print(f"| {name} | {len(rs)} | {statistics.mean(r['train_s'] for r in rs):.2f} | "
              f"{statistics.mean(r['triples_per_s'] for r in rs):,.0f} | {statistics.mean(mrr):.4f} ± {sd:.4f} | "
              f"{statistics.mean(r['hits@10'] for r in rs):.4f} |")
    peer = statistics.mean(r["triples_per_s"] for r in rows["pykeen"])
    for s in samplings:
        ratio = statistics.mean(r["triples_per_s"] for r in rows[names[s]]) / peer
        print(f"\nthroughput ratio {names[s]} / PyKEEN: {ratio:.1f}x")


if __name__ == "__main__":
    main()
