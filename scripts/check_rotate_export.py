#!/usr/bin/env python3
"""Recompute filtered link-prediction metrics from a RotatE export with numpy alone, as an
independent check of `kgrec kge eval` (which shares no code with this script).

usage: check_rotate_export.py --dataset-dir DIR --model-dir OUT [--split test] [--batch 16]

OUT is what `kgrec kge train --model rotate --out OUT` wrote: meta.json ({"model": "rotate",
"dim": D}), entities.tsv (`token <TAB> D real parts <TAB> D imaginary parts`) and relations.tsv
(`token <TAB> D phases`). The distance is d(h, r, t) = sum_k |h_k e^{i theta_k} - t_k|; a query
ranks every entity on both sides, removes the other true triples of train, valid and test, and
takes the realistic rank 1 + #closer + #tied / 2. Triples with a token absent from the export
are counted and skipped. Prints MRR, Hits@1/3/10 and mean rank per side and for both sides.
"""
import argparse, collections, json, os

import numpy as np


def load(path):
    tokens, rows = [], []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            tokens.append(p[0])
            rows.append(np.array(p[1:], dtype=np.float64))
    return {t: i for i, t in enumerate(tokens)}, np.stack(rows)


def triples(path):
    with open(path) as f:
        return [tuple(line.rstrip("\n").split("\t")) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset-dir", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.model_dir, "meta.json")))
    if meta.get("model") != "rotate":
        raise SystemExit(f"{a.model_dir}: model {meta.get('model')!r}, expected 'rotate'")
    dim = meta["dim"]
    ent, E = load(os.path.join(a.model_dir, "entities.tsv"))
    rel, R = load(os.path.join(a.model_dir, "relations.tsv"))
    if E.shape[1] != 2 * dim or R.shape[1] != dim:
        raise SystemExit(f"widths {E.shape[1]}/{R.shape[1]} do not match dim {dim}")
    Ec = E[:, :dim] + 1j * E[:, dim:]
    rot = np.exp(1j * R)

    known = collections.defaultdict(set)  # (side, anchor, relation) -> true answers
    splits = {s: triples(os.path.join(a.dataset_dir, f"{s}.txt")) for s in ("train", "valid", "test")}
    skipped = 0
    ids = {}
    for s, ts in splits.items():
        out = []
        for h, r, t in ts:
            if h in ent and r in rel and t in ent:
                h_, r_, t_ = ent[h], rel[r], ent[t]
                known[("tail", h_, r_)].add(t_)
                known[("head", t_, r_)].add(h_)
                out.append((h_, r_, t_))
            elif s == a.split:
                skipped += 1
        ids[s] = out
    test = np.array(ids[a.split], dtype=np.int64)

    ranks = {"head": [], "tail": []}
    for side in ("tail", "head"):
        for start in range(0, len(test), a.batch):
            b = test[start:start + a.batch]
            if side == "tail":  # |h o r - t|
                q = Ec[b[:, 0]] * rot[b[:, 1]]
                target, anchor = b[:, 2], b[:, 0]
            else:  # |h o r - t| = |h - t o conj(r)| for unit rotations
                q = Ec[b[:, 2]] * np.conj(rot[b[:, 1]])
                target, anchor = b[:, 0], b[:, 2]
            d = np.abs(q[:, None, :] - Ec[None, :, :]).sum(axis=2)  # batch x entities
            for i in range(len(b)):
                row = d[i]
                true_d = row[target[i]]
                others = [e for e in known[(side, anchor[i], b[i, 1])] if e != target[i]]
                closer = np.count_nonzero(row < true_d)
                tied = np.count_nonzero(row == true_d) - 1
                if others:
                    od = row[others]
                    closer -= np.count_nonzero(od < true_d)
                    tied -= np.count_nonzero(od == true_d)
                ranks[side].append(1 + closer + tied / 2)

    def metrics(r):
        r = np.array(r, dtype=np.float64)
        return {"count": len(r), "mrr": float(np.mean(1 / r)), "hits@1": float(np.mean(r <= 1)),
                "hits@3": float(np.mean(r <= 3)), "hits@10": float(np.mean(r <= 10)),
                "mean_rank": float(np.mean(r))}

    report = {"skipped": skipped, "head": metrics(ranks["head"]), "tail": metrics(ranks["tail"]),
              "both": metrics(ranks["head"] + ranks["tail"])}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
