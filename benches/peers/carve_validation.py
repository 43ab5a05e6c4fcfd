"""Carve validation rows from a training file (never a test file), for choosing defaults with
`kgrec eval --train OUT/train.tsv --test OUT/val.tsv` (docs/benchmarks.md, "Content features").

usage: carve_validation.py TRAIN OUT warm SEED
       carve_validation.py TRAIN OUT cold SEED LINKS

warm: each user with >= 5 items holds out 20 % of them at random (the tuner's rule).
cold: 141 random items with interactions (as many as cold-items' test holds) lose every
interaction to validation, drawn uniformly among the linked items."""
import sys, random, csv
src, out, mode, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = list(csv.reader(open(src), delimiter="\t"))
head, rows = rows[0], rows[1:]
rng = random.Random(seed)
train, val = [], []
if mode == "warm":
    by_user = {}
    for r in rows:
        by_user.setdefault(r[0], []).append(r)
    for u in sorted(by_user, key=int):
        rs = by_user[u]
        if len(rs) >= 5:
            k = max(1, round(0.2 * len(rs)))
            idx = set(rng.sample(range(len(rs)), k))
            for i, r in enumerate(rs):
                (val if i in idx else train).append(r)
        else:
            train.extend(rs)
else:
    linked = {l.split("\t")[0] for l in open(sys.argv[5]).read().split("\n")[1:] if l}
    items = sorted({r[1] for r in rows if r[1] in linked}, key=int)
    held = set(rng.sample(items, 141))
    for r in rows:
        (val if r[1] in held else train).append(r)
for name, part in (("train", train), ("val", val)):
    with open(f"{out}/{name}.tsv", "w") as f:
        f.write("\t".join(head) + "\n")
        for r in part:
            f.write("\t".join(r) + "\n")
print(out, len(train), len(val))
