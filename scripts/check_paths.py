#!/usr/bin/env python3
"""Checks the explanations of `kgrec recommend --all-users --explain --out F.jsonl`.

usage: scripts/check_paths.py --explanations F.jsonl --kg KG.nt --train TRAIN.tsv [--link LINK.tsv]
                              [--user-col C] [--item-col C] [--min-coverage 0.8]

The training and link files are read as kgrec reads them: tab, comma, semicolon or pipe
separated (read off the header), gzip or not, columns found by the names kgrec accepts
(`user_id`, `customer`, `sku`, ...; `--user-col`/`--item-col` name others), link IRIs with or
without `<...>`. The graph must be N-Triples (for another syntax, dump what kgrec stored:
`kgrec --data DIR sparql 'CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }' > kg.nt`).

Reports the share of recommended linked items (items with an "iri") that carry at least one
path, and counts every invalid step: a first step that is not the user's own training
interaction (or whose item is not linked to the IRI it names, with --link), a later step that is
not a triple of the N-Triples file in its direction, a broken chain, a path that does not end at
the item or has more than 3 graph hops. Exits 1 if any step is invalid or the coverage is below
--min-coverage.
"""
import argparse, csv, gzip, io, json, re, sys

NT = re.compile(r'^<([^>]*)>\s+<([^>]*)>\s+<([^>]*)>\s*\.\s*$')

# The header names kgrec finds its columns by (src/interactions/columns.rs), compared as kgrec
# compares them: case, quotes, a RecBole `:type` suffix and all but letters and digits ignored.
USER = ["user_id", "user", "userId", "uid", "customer_id", "customer", "client_id", "member_id",
        "account_id", "visitor_id", "reviewer_id", "person_id", "buyer_id"]
ITEM = ["item_id", "item", "itemId", "iid", "sku", "product_id", "product", "movie_id", "movie",
        "book_id", "isbn", "asin", "article_id", "track_id", "song_id", "artist_id",
        "business_id", "video_id", "content_id", "recipe_id", "anime_id", "game_id"]
IRI = ["iri", "uri", "url", "entity", "entity_id", "entity_iri", "resource"]


def normalised(field):
    field = field.strip().lstrip("\ufeff").strip('"')
    field = field.rsplit(":", 1)[0] if ":" in field else field
    return "".join(c.lower() for c in field if c.isalnum())


def open_text(path):
    """A text file, gunzipped when it starts with the gzip magic bytes (as kgrec reads it)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    raw = gzip.open(path, "rb") if gz else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def read_triples(path):
    triples, lines = set(), 0
    with open_text(path) as f:
        for line in f:
            lines += line.strip() != "" and not line.startswith("#")
            m = NT.match(line)
            if m:
                triples.add(m.groups())
    if lines and not triples:
        sys.exit(f"{path}: no N-Triples statement found; give the graph as N-Triples, e.g. "
                 f"kgrec --data DIR sparql 'CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}' > kg.nt")
    return triples


def column(path, header, names, given, what):
    """The index of a column: `given` (a name or a 1-based number), else the first known name."""
    if given:
        if given.isdigit() and 1 <= int(given) <= len(header):
            return int(given) - 1
        for k, field in enumerate(header):
            if field.strip() == given or normalised(field) == normalised(given):
                return k
        sys.exit(f"{path}: no column {given!r} (columns: {', '.join(header)})")
    found = [normalised(h) for h in header]
    for name in names:
        if normalised(name) in found:
            return found.index(normalised(name))
    sys.exit(f"{path}: no {what} column among {', '.join(header)}; name it with the option "
             f"for it (accepted names: {', '.join(names)})")


def read_table(path, wanted):
    """Rows of a headed file as tuples of the `wanted` columns, each `(names, given, what)`. The
    delimiter (tab, comma, semicolon or pipe) is read off the header, as kgrec reads it."""
    with open_text(path) as f:
        first = f.readline()
        delimiter = max("\t,;|", key=first.count)
        header = next(csv.reader([first], delimiter=delimiter))
        at = [column(path, header, *w) for w in wanted]
        for row in csv.reader(f, delimiter=delimiter):
            if row and len(row) > max(at):
                yield tuple(row[k].strip() for k in at)


def read_pairs(path, user_col, item_col):
    return set(read_table(path, [(USER, user_col, "user"), (ITEM, item_col, "item")]))


def read_links(path):
    """Item -> IRI; an IRI may be written `<http://...>`, as kgrec accepts it."""
    links = {}
    for item, iri in read_table(path, [(ITEM, None, "item"), (IRI, None, "IRI")]):
        iri = iri.strip()
        if iri.startswith("<") and iri.endswith(">"):
            iri = iri[1:-1].strip()
        links[item] = iri
    return links


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--explanations", required=True)
    ap.add_argument("--kg", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--user-col", help="the user column of --train (name or 1-based number)")
    ap.add_argument("--item-col", help="the item column of --train (name or 1-based number)")
    ap.add_argument("--link")
    ap.add_argument("--max-hops", type=int, default=3)
    ap.add_argument("--min-coverage", type=float, default=0.0)
    a = ap.parse_args()
    triples = read_triples(a.kg)
    train = read_pairs(a.train, a.user_col, a.item_col)
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
