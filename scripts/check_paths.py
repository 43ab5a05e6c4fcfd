#!/usr/bin/env python3
"""Checks the explanations of `kgrec recommend --all-users --explain --out F.jsonl`.

usage: scripts/check_paths.py --explanations F.jsonl --kg KG.nt --train TRAIN.tsv [--link LINK.tsv]
                              [--min-coverage 0.8]

Reports the share of recommended linked items (items with an "iri") that carry at least one
path, and counts every invalid step: a first step that is not the user's own training
interaction (or whose item is not linked to the IRI it names, with --link), a later step that is
not a triple of the N-Triples file in its direction, a broken chain, a path that does not end at
the item or has more than 3 graph hops. Exits 1 if any step is invalid or the coverage is below
--min-coverage.
"""
import argparse, csv, json, re, sys

NT = re.compile(r'^<([^>]*)>\s+<([^>]*)>\s+<([^>]*)>\s*\.\s*$')


def read_triples(path):
    triples = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = NT.match(line)
            if m:
                triples.add(m.groups())
    return triples


def read_pairs(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t")
        return {(r["user_id"], r["item_id"]) for r in rows}


def read_links(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t")
        return {r["item_id"]: r["iri"] for r in rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--explanations", required=True)
    ap.add_argument("--kg", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--link")
    ap.add_argument("--max-hops", type=int, default=3)
    ap.add_argument("--min-coverage", type=float, default=0.0)
    a = ap.parse_args()
    triples = read_triples(a.kg)
    train = read_pairs(a.train)
    links = read_links(a.link) if a.link else None

    users = items = linked = covered = paths = steps = 0
    invalid = {}
    examples = []

    def bad(kind, detail):
        invalid[kind] = invalid.get(kind, 0) + 1
        if len(examples) < 5:
            examples.append(f"{kind}: {detail}")

    with open(a.explanations, encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            users += 1
            user = e["user"]
            for item in e["items"]:
                items += 1
                if "iri" not in item:
                    continue
                linked += 1
                if item["paths"]:
                    covered += 1
                for p in item["paths"]:
                    paths += 1
                    st = p["steps"]
                    steps += len(st)
                    first = st[0]
                    liked = first["to"].get("item")
                    if first["from"].get("user") != user or first["relation"] != "interacted" \
                            or (user, liked) not in train:
                        bad("first step is not a training interaction", first)
                    elif links is not None and links.get(liked) != first["to"].get("iri"):
                        bad("first step's item is not linked to its IRI", first)
                    if len(st) - 1 > a.max_hops or len(st) < 2:
                        bad("path length", len(st) - 1)
                    for prev, s in zip(st, st[1:]):
                        if prev["to"].get("iri") != s["from"].get("iri"):
                            bad("broken chain", s)
                        h, r, t = s["from"].get("iri"), s["relation"], s["to"].get("iri")
                        if s.get("direction") == "inverse":
                            h, t = t, h
                        elif s.get("direction") != "forward":
                            bad("direction", s)
                            continue
                        if (h, r, t) not in triples:
                            bad("not a triple of the graph", (h, r, t))
                    if st[-1]["to"].get("iri") != item["iri"]:
                        bad("path does not end at the item", st[-1])

    coverage = covered / linked if linked else 0.0
    n_invalid = sum(invalid.values())
    print(f"users {users}, recommended items {items}, linked {linked}, "
          f"with >= 1 path {covered} ({100 * coverage:.1f}%)")
    print(f"paths {paths}, steps {steps}, invalid steps {n_invalid}")
    for kind, n in sorted(invalid.items()):
        print(f"  {kind}: {n}")
    for ex in examples:
        print(f"  e.g. {ex}")
    if n_invalid or coverage < a.min_coverage:
        sys.exit(1)


if __name__ == "__main__":
    main()
