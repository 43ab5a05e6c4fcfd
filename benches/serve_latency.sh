#!/bin/bash
# benches/serve_latency.sh BIN DIR PORT [N]: per-request latency of
# GET /v1/users/{u}/recommendations?k=10 through `kgrec serve --read-only` on 127.0.0.1:PORT, one
# request at a time, N requests (default 200) for users u7, u7+200000/N, ... (the ids
# examples/synth writes for --users 200000). Writes serve-PORT.log and lat-PORT.txt (seconds per
# request) in the current directory and prints the mean and percentiles (docs/scale.md).
set -u
BIN=$1; DIR=$2; PORT=$3; N=${4:-200}
$BIN --data $DIR serve --read-only --addr 127.0.0.1:$PORT > serve-$PORT.log 2>&1 &
PID=$!
for i in $(seq 1 600); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/health/ready" && break; sleep 1
done
# Warm-up: 5 requests, not counted.
for u in 1 2 3 4 5; do curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/users/u$u/recommendations?k=10"; done
: > lat-$PORT.txt
for i in $(seq 0 $((N-1))); do
  u=$(( i * 200000 / N + 7 ))
  curl -s -o /dev/null -w "%{time_total}\n" "http://127.0.0.1:$PORT/v1/users/u$u/recommendations?k=10" >> lat-$PORT.txt
done
curl -s "http://127.0.0.1:$PORT/v1/users/u7/recommendations?k=10" | head -c 600; echo
kill -TERM $PID; wait $PID 2>/dev/null
sort -n lat-$PORT.txt | awk '{a[NR]=$1; s+=$1} END {printf "n %d mean %.2f ms p50 %.2f ms p90 %.2f ms p99 %.2f ms\n", NR, 1000*s/NR, 1000*a[int(NR*0.5)], 1000*a[int(NR*0.9)], 1000*a[int(NR*0.99)]}'
