#!/usr/bin/env bash
# The HTTP service under load (issue 15): `oha` against `kgrec serve` on loopback, with the
# ml-100k fold0 `cke` model (the default `train`); server and load generator share the machine.
#
#   benches/http_load.sh [SECONDS]      # 60 s per run unless given; docs/benchmarks.md has figures
#
# Runs, each SECONDS long, after a 5 s warm-up:
#   1. GET recommendations, k=10, no explanation, fixed rate KGREC_LOAD_RPS (5000), random users
#   2. GET recommendations, k=10, explain=true, fixed rate KGREC_LOAD_EXPLAIN_RPS (500)
#   3. POST /v1/interactions, one new interaction per request, 32 connections, as fast as acked
#   4. GET recommendations at KGREC_LOAD_RPS while a SPARQL query built to explode (every triple
#      joined with every triple three times, counted) is sent again and again: each must be
#      answered 503 within --sparql-timeout-ms (KGREC_LOAD_SPARQL_MS, 10000); compare the
#      recommendations' p99 with run 1's
#   5. GET recommendations at KGREC_LOAD_REBUILD_RPS (1000) while POST /v1/admin/rebuild runs:
#      every response must be 2xx and the served version must change
# KGREC_LOAD_RUNS picks runs by name (default: "recommendations explained interactions explosion
# rebuild").
# oha's JSON for each run is kept in KGREC_LOAD_OUT (default target/http-load). Skips (exit 0)
# when ../shared/datasets/ml-100k (or KGREC_DATASETS/ml-100k) is absent; installs oha with
# `cargo install oha --locked` when it is not on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
rps="${KGREC_LOAD_RPS:-5000}"
explain_rps="${KGREC_LOAD_EXPLAIN_RPS:-500}"
rebuild_rps="${KGREC_LOAD_REBUILD_RPS:-1000}"
out="${KGREC_LOAD_OUT:-target/http-load}"
sparql_ms="${KGREC_LOAD_SPARQL_MS:-10000}"
runs=" ${KGREC_LOAD_RUNS:-recommendations explained interactions explosion rebuild} "
wanted() { [[ "$runs" == *" $1 "* ]]; }
ml="${KGREC_DATASETS:-../shared/datasets}/ml-100k"
if [ ! -d "$ml" ]; then
  echo "skipped: $ml is absent (the ml-100k data set is not committed)"
  exit 0
fi
if ! command -v oha >/dev/null; then
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v oha >/dev/null || cargo install oha --locked
fi

cargo build --release --quiet
bin="$PWD/target/release/kgrec"
mkdir -p "$out"
work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

data="$work/data"
train="$ml/folds/fold0/train.tsv"
"$bin" --data "$data" -q import kg "$ml/kg-dbpedia.nt"
"$bin" --data "$data" -q import interactions "$train" --link "$ml/link-dbpedia.tsv"
"$bin" --data "$data" -q train

"$bin" --data "$data" serve --addr 127.0.0.1:0 --sparql-timeout-ms "$sparql_ms" >"$work/stdout" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  grep -q '^listening on' "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/^listening on //p' "$work/stdout")"
[ -n "$base" ] || { cat "$work/server.log"; exit 1; }

# Request lists: every user of the training file, shuffled (oha takes the URLs in turn); one
# new interaction per POST body (users of the file with items they do not have).
python3 - "$train" "$base" "$work" <<'EOF'
import random, sys
train, base, work = sys.argv[1:4]
rows = [line.rstrip("\n").split("\t")[:2] for line in open(train)][1:]
users = sorted({u for u, _ in rows}, key=int)
items = sorted({i for _, i in rows}, key=int)
seen = {(u, i) for u, i in rows}
rng = random.Random(0)
order = users * 20
rng.shuffle(order)
with open(f"{work}/recs.txt", "w") as f:
    f.writelines(f"{base}/v1/users/{u}/recommendations?k=10\n" for u in order)
with open(f"{work}/explained.txt", "w") as f:
    f.writelines(f"{base}/v1/users/{u}/recommendations?k=10&explain=true\n" for u in order)
with open(f"{work}/bodies.txt", "w") as f:
    written = 0
    while written < 600_000:
        u, i = rng.choice(users), rng.choice(items)
        if (u, i) in seen:
            continue
        seen.add((u, i))
        f.write(f'[{{"user":"{u}","item":"{i}","rating":4}}]\n')
        written += 1
EOF

# oha's JSON summary of run $1 as one line: rate, percentiles, status codes.
summary() {
  python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s, p = r["summary"], r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
errors = r.get("errorDistribution", {})
ok = sum(n for c, n in codes.items() if c.startswith("2"))
bad = sum(n for c, n in codes.items() if not c.startswith("2"))
ms = lambda v: "-" if v is None else f"{v * 1000:.2f}"
print(f"{ok / s['total']:.0f} 2xx/s ({ok} 2xx, {bad} other, {sum(errors.values())} errors); "
      f"latency ms p50 {ms(p.get('p50'))} p90 {ms(p.get('p90'))} p99 {ms(p.get('p99'))} "
      f"p99.9 {ms(p.get('p99.9'))}; codes {codes} {errors if errors else ''}")
EOF
}

load() { # name, then oha's arguments
  local name="$1"
  shift
  oha --no-tui -w --output-format json -o "$out/$name.json" "$@"
  echo "$name: $(summary "$out/$name.json")"
}

version() {
  curl -sf "$base/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["current"])'
}

echo "kgrec serve at $base; ml-100k fold0, $(version | head -c 40) current; ${secs} s per run"
oha --no-tui --output-format quiet -z 5s -q 2000 --urls-from-file "$work/recs.txt"
if wanted recommendations; then
  load recommendations -z "${secs}s" -q "$rps" --latency-correction --urls-from-file "$work/recs.txt"
fi
if wanted explained; then
  load explained -z "${secs}s" -q "$explain_rps" --latency-correction --urls-from-file "$work/explained.txt"
fi
if wanted interactions; then
  load interactions -z "${secs}s" -c 32 -m POST -T application/json -Z "$work/bodies.txt" "$base/v1/interactions"
fi
if wanted explosion; then
  oha --no-tui -w --output-format json -o "$out/explosion.json" -z "${secs}s" -q "$rps" \
    --latency-correction --urls-from-file "$work/recs.txt" &
  load_pid=$!
  query='SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }'
  : >"$work/sparql.txt"
  while kill -0 "$load_pid" 2>/dev/null; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -G "$base/sparql" \
      --data-urlencode "query=$query" >>"$work/sparql.txt" || true
  done
  wait "$load_pid"
  echo "explosion: $(summary "$out/explosion.json")"
  python3 - "$work/sparql.txt" "$sparql_ms" <<'EOF'
import sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
limit = int(sys.argv[2]) / 1000
codes = sorted({c for c, _ in rows})
took = [float(t) for _, t in rows]
print(f"explosion: {len(rows)} exploding queries answered {codes} in {min(took):.2f}-{max(took):.2f} s "
      f"(limit {limit:g} s)")
sys.exit(0 if rows and codes == ["503"] else 1)
EOF
fi
wanted rebuild || exit 0

before="$(version)"
oha --no-tui -w --output-format json -o "$out/rebuild.json" -z "${secs}s" -q "$rebuild_rps" \
  --latency-correction --urls-from-file "$work/recs.txt" &
load_pid=$!
sleep "$(python3 -c "print($secs / 5)")"
job="$(curl -sf -X POST "$base/v1/admin/rebuild" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
state=""
while [ "$state" != "done" ] && [ "$state" != "failed" ]; do
  sleep 1
  state="$(curl -sf "$base/v1/admin/jobs/$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
  kill -0 "$load_pid" 2>/dev/null || break
done
wait "$load_pid"
after="$(version)"
echo "rebuild: job $job $state; current version $before -> $after; $(summary "$out/rebuild.json")"
[ "$state" = "done" ] && [ "$before" != "$after" ]
