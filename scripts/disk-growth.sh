#!/bin/sh
# Disk growth of a data directory trained again and again (issue #20, docs/reliability.md).
#
# usage: scripts/disk-growth.sh [BINARY] [DIR] [FITS] [KEEP]
#   BINARY  the kgrec to measure (default: target/release/kgrec)
#   DIR     the data directory to build (default: a new temporary folder; removed first if given)
#   FITS    how many times to train (default 5)
#   KEEP    --keep of each train (default 3, kgrec's default)
#
# It writes its own data (no downloads): a music catalogue of 3,000 tracks by 400 artists
# (labels, genres, names) as N-Triples, 30,000 listens of 2,000 listeners as CSV (60 % in the
# listener's favourite genre, the rest skewed to popular tracks), and the link file, from a
# fixed linear congruential generator (the same files on every machine). Then `train --model
# ease` FITS times, printing after each fit the directory's size, sled's blob files, the model
# files and the versions `stats` lists. An EASE model of 3,000 items is 9 million floats (36 MB),
# so a directory that keeps what it prunes grows by about that much per fit.
set -eu

KGREC=${1:-target/release/kgrec}
DIR=${2:-}
FITS=${3:-5}
KEEP=${4:-3}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrec-disk-growth.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
if [ -z "$DIR" ]; then
    DIR="$WORK/data"
else
    rm -rf "$DIR"
fi

awk -v out="$WORK" 'BEGIN {
    seed = 7
    B = "http://music.example.com/"
    NU = 2000; NT = 3000; NA = 400; NL = 40; NG = 25
    for (t = 0; t < NT; t++) artist[t] = rnd(NA)
    for (a = 0; a < NA; a++) { label[a] = rnd(NL); genre[a] = rnd(NG) }
    nt = out "/graph.nt"
    for (t = 0; t < NT; t++) triple("track/" t, "byArtist", "artist/" artist[t])
    for (a = 0; a < NA; a++) {
        triple("artist/" a, "onLabel", "label/" label[a])
        triple("artist/" a, "genre", "genre/" genre[a])
        printf "<%sartist/%d> <http://xmlns.com/foaf/0.1/name> \"Artist %d\"@en .\n", B, a, a > nt
    }
    for (g = 0; g < NG; g++)
        printf "<%sgenre/%d> <http://www.w3.org/2004/02/skos/core#prefLabel> \"Genre %d\" .\n", B, g, g > nt
    for (t = 0; t < NT; t++) { g = genre[artist[t]]; n = count[g]++; bygenre[g, n] = t }
    for (u = 0; u < NU; u++) favourite[u] = rnd(NG)
    listens = out "/listens.csv"
    print "listener_id,track_id,played_at,ms_played" > listens
    for (i = 0; i < 30000; i++) {
        u = rnd(NU)
        g = favourite[u]
        if (rnd(100) < 60 && count[g] > 0) t = bygenre[g, rnd(count[g])]
        else t = int(NT * (rnd(1000000) / 1000000) ^ 2.5)
        printf "u%d,%d,%d,%d\n", u, t, 1767225600 + rnd(30000000), 1000 + rnd(299000) > listens
    }
    link = out "/link.tsv"
    print "track_id\tiri" > link
    for (t = 0; t < NT; t++) printf "%d\t%strack/%d\n", t, B, t > link
}
function rnd(n) {
    # 31-bit linear congruential generator (exact in double precision).
    seed = (seed * 1103515245 + 12345) % 2147483648
    return int(seed / 2147483648 * n)
}
function triple(h, r, t) {
    printf "<%s%s> <%sont/%s> <%s%s> .\n", B, h, B, r, B, t > nt
}'

"$KGREC" --data "$DIR" import kg "$WORK/graph.nt" -q
"$KGREC" --data "$DIR" import interactions "$WORK/listens.csv" --link "$WORK/link.tsv" -q
echo "kgrec: $("$KGREC" --version); data directory: $DIR; train --model ease --keep $KEEP, $FITS times"
echo "load: $(uptime)"
for i in $(seq 1 "$FITS"); do
    "$KGREC" --data "$DIR" train --model ease --keep "$KEEP" -q
    mb=$(du -sm "$DIR" | cut -f1)
    blobs=$(ls "$DIR/sled/blobs" 2>/dev/null | wc -l)
    files=$(ls "$DIR/models" 2>/dev/null | wc -l)
    versions=$("$KGREC" --data "$DIR" stats --format json | grep -o '"version": *[0-9]*' | wc -l)
    echo "after fit $i: $mb MB, sled/blobs $blobs files, models/ $files files, versions listed $versions"
done
