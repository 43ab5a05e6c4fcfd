#!/usr/bin/env python3
"""kgrec's ALS fit and all-users top-K against implicit's at each size of the cost curves, side by
side in one run (issue 19: "at least as fast as implicit's at each size").

usage: curves_implicit.py [--kgrec target/release/kgrec] [--synth target/release/examples/synth]
                          [--out target/curves-implicit] [--sizes 10000,50000,250000,1250000]
                          [--dim 64] [--largest-dims 64,128] [--epochs 15] [--reg 1] [--alpha 10]
                          [--threads 2] [--rounds 3] [--seed 1]
                          [--peer ../shared/peers/implicit_peer.py] [--python PYTHON]

Run from the crate root after `cargo build --release --bins --examples`, with any Python (the
script needs only the standard library; the peer runs under --python, default this Python, which
must have implicit: e.g. /work/venv-peers/bin/python).

Each size is the curves example's catalogue (`examples/curves.rs`: per interaction 0.108 users and
0.0385 items, `synth --test-share 0.2 --seed SEED`), written to OUT/cat-N unless already there
(a curves run's OUT can be reused). Its train.tsv is imported once (`kgrec import interactions`).
Then, --rounds times, interleaved, each round starting with the load average:
  1. `kgrec train --model als --dim D --epochs E --reg R --alpha A` (the fit `train` prints, and the
     whole command's wall time: store read, model written);
  2. `kgrec recommend --all-users -k 20 --out F --force` (the whole command: every user's top 20
     written; and the scoring part it prints);
  3. the peer with the same factors, iterations, reg, alpha and threads, `--test test.tsv` (its
     fit_wall_s and recommend_wall_s for the test users);
  4. the peer with `--test train.tsv` (every user: the work of kgrec's batch).
D is --dim at every size, and each of --largest-dims at the largest size. kgrec runs with
RAYON_NUM_THREADS=--threads, the peer with --threads OpenMP threads (single-threaded BLAS). Neither
side is niced. Writes OUT/curves-implicit.md (one table row per round) and OUT/curves-implicit.tsv.

Ratios (above 1: kgrec is faster): fit = the faster of the peer's two fits / the fit `train`
prints; top-K = the peer's all-users recommend / kgrec's whole `recommend --all-users` command.
"""
import argparse, os, re, subprocess, sys, time
from pathlib import Path

CRATE = Path(__file__).resolve().parents[2]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def half_up(x):
    """Rust's f64::round for positive numbers (Python's round() rounds halves to even)."""
    return int(x + 0.5)


def run(cmd, env=None):
    """Runs cmd; returns (wall seconds, stdout, stderr); raises with the output on failure."""
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stdout}\n{p.stderr}")
    return wall, p.stdout, p.stderr


def catalogue(a, n):
    cat = Path(a.out) / f"cat-{n}"
    if not (cat / "train.tsv").exists():
        users = max(10, half_up(n * 0.108))
        items = max(10, half_up(n * 0.0385))
        run([a.synth, "--users", users, "--items", items, "--interactions", n,
             "--test-share", "0.2", "--seed", a.seed, "--out", cat])
    return cat


def peer(a, cat, test, dim, out):
    _, stdout, stderr = run([a.python, a.peer, "--train", cat / "train.tsv", "--test", test,
                             "--model", "als", "--factors", dim, "--iterations", a.epochs,
                             "--reg", a.reg, "--alpha", a.alpha, "--threads", a.threads,
                             "--out", out])
    vals = dict(line.split("\t") for line in stdout.splitlines() if "\t" in line)
    m = re.search(r"test users (\d+)", stderr)
    return float(vals["fit_wall_s"]), float(vals["recommend_wall_s"]), int(m.group(1)) if m else -1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = Path(os.environ.get("CARGO_TARGET_DIR", CRATE / "target")) / "release"
    ap.add_argument("--kgrec", default=str(target / "kgrec"))
    ap.add_argument("--synth", default=str(target / "examples" / "synth"))
    ap.add_argument("--out", default=str(CRATE / "target" / "curves-implicit"))
    ap.add_argument("--sizes", default="10000,50000,250000,1250000")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--largest-dims", default="64,128")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--reg", default="1")
    ap.add_argument("--alpha", default="10")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--peer", default=str(CRATE / "../shared/peers/implicit_peer.py"))
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    for what in ("kgrec", "synth", "peer"):
        if not Path(getattr(a, what)).exists():
            sys.exit(f"--{what} {getattr(a, what)} not found (cargo build --release --bins --examples)")
    sizes = sorted(int(s) for s in a.sizes.split(","))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))

    rows = []
    header = ("| interactions (users × items) | dim | round (load 1/5/15 min) | kgrec fit (`train` "
              "command) | implicit fit (test-users run / all-users run) | fit ratio | kgrec "
              "`recommend --all-users` command (scoring) | implicit recommend: test users / all "
              "users | top-K ratio |\n|---|---|---|---|---|---|---|---|---|")
    print(header, flush=True)
    lines = [header]
    for n in sizes:
        cat = catalogue(a, n)
        data = out / f"data-{n}"
        subprocess.run(["rm", "-rf", str(data)], check=True)
        _, stdout, stderr = run([a.kgrec, "--data", data, "import", "interactions",
                                 cat / "train.tsv"], env)
        m = re.search(r"store: (\d+) users, (\d+) items", stdout + stderr)
        shape = f"{n:,} ({int(m.group(1)):,} × {int(m.group(2)):,})" if m else f"{n:,}"
        dims = [a.dim] + ([int(d) for d in a.largest_dims.split(",") if int(d) != a.dim]
                          if n == sizes[-1] else [])
        for dim in dims:
            for r in range(1, a.rounds + 1):
                load = loadavg()
                train_wall, stdout, stderr = run(
                    [a.kgrec, "--data", data, "train", "--model", "als", "--dim", dim,
                     "--epochs", a.epochs, "--reg", a.reg, "--alpha", a.alpha], env)
                m = re.search(r"final loss [^,]+, ([0-9.]+) s", stdout + stderr)
                if not m:
                    sys.exit(f"no fit time in train's output:\n{stdout}{stderr}")
                fit = float(m.group(1))
                rec_wall, stdout, stderr = run(
                    [a.kgrec, "--data", data, "recommend", "--all-users", "-k", "20", "--force",
                     "--out", out / f"rec-{n}.tsv"], env)
                m = re.search(r"scoring ([0-9.]+) s", stdout + stderr)
                scoring = float(m.group(1)) if m else float("nan")
                p_fit_t, p_rec_t, n_test = peer(a, cat, cat / "test.tsv", dim, out / f"imp-{n}.tsv")
                p_fit_a, p_rec_a, n_all = peer(a, cat, cat / "train.tsv", dim,
                                               out / f"imp-all-{n}.tsv")
                fit_ratio = min(p_fit_t, p_fit_a) / fit
                topk_ratio = p_rec_a / rec_wall
                rows.append((n, dim, r, load, fit, train_wall, p_fit_t, p_fit_a, fit_ratio,
                             rec_wall, scoring, p_rec_t, n_test, p_rec_a, n_all, topk_ratio))
                line = (f"| {shape} | {dim} | {r} ({load}) | {fit:.2f} s ({train_wall:.2f} s) | "
                        f"{p_fit_t:.2f} s / {p_fit_a:.2f} s | {fit_ratio:.2f} | {rec_wall:.2f} s "
                        f"({scoring:.2f} s) | {p_rec_t:.2f} s ({n_test:,}) / {p_rec_a:.2f} s "
                        f"({n_all:,}) | {topk_ratio:.2f} |")
                lines.append(line)
                print(line, flush=True)
        subprocess.run(["rm", "-rf", str(data)], check=True)
        for f in (f"rec-{n}.tsv", f"imp-{n}.tsv", f"imp-all-{n}.tsv"):
            (out / f).unlink(missing_ok=True)
    print(f"end (load {loadavg()})")

    (out / "curves-implicit.md").write_text("\n".join(lines) + "\n")
    with open(out / "curves-implicit.tsv", "w") as f:
        f.write("interactions\tdim\tround\tload\tkgrec_fit_s\tkgrec_train_cmd_s\timplicit_fit_test_s"
                "\timplicit_fit_all_s\tfit_ratio\tkgrec_recommend_cmd_s\tkgrec_scoring_s"
                "\timplicit_rec_test_s\ttest_users\timplicit_rec_all_s\tall_users\ttopk_ratio\n")
        for row in rows:
            f.write("\t".join(str(v) for v in row) + "\n")
    print(f"wrote {out / 'curves-implicit.md'} and curves-implicit.tsv")


if __name__ == "__main__":
    main()
