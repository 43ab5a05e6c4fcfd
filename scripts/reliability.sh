#!/bin/sh
# The reliability suite's long run, in one command (docs/reliability.md has each part's last
# figures). CI runs every part bounded through `cargo test`; this runs them long:
#
#   scripts/reliability.sh              # the long run (about an hour on 2 cores)
#   FUZZ_CASES=50 FLIPS=2 KILLS=2 ROUNDS=1 DISK_REPEATS=1 scripts/reliability.sh   # a smoke run
#
# Knobs (environment): FUZZ_CASES (proptest cases per fuzz test, 5000), FLIPS (flipped offsets per
# stored file, 200), KILLS (kill-loop iterations, 100), ROUNDS (concurrency rounds, 10),
# DISK_REPEATS (runs of the timing-dependent full-disk test, 30), SEED (1). The full-disk tests
# mount a tmpfs: run as root, or they skip with a note. Each part stops at its first failure.
set -eu
cd "$(dirname "$0")/.."
seed=${SEED:-1}
part() { printf '\n== %s\n' "$1"; }

part "fuzzing: ${FUZZ_CASES:-5000} cases per decoder"
PROPTEST_CASES=${FUZZ_CASES:-5000} cargo test --release --workspace --lib fuzz

part "flipped bytes: ${FLIPS:-200} offsets per stored file, seed $seed"
KGREC_FLIPS_PER_FILE=${FLIPS:-200} KGREC_FLIP_SEED=$seed \
  cargo test --release --test integration integrity -- --nocapture

part "kills at random points: ${KILLS:-100} iterations, seed $seed"
KGREC_KILL_ITERS=${KILLS:-100} KGREC_KILL_SEED=$seed \
  cargo test --release --test integration kill_loop -- --nocapture

part "crash tests (one kill per case) and model files"
cargo test --release --test integration -- crash cf_crash model_files

part "readers during writes: ${ROUNDS:-10} rounds"
KGREC_CONC_ROUNDS=${ROUNDS:-10} cargo test --release --test integration concurrency -- --nocapture

part "full disk: the suite, then the timing-dependent test ${DISK_REPEATS:-30} times"
cargo test --release --test integration full_disk -- --include-ignored
i=1
while [ "$i" -lt "${DISK_REPEATS:-30}" ]; do
  out=$(cargo test --release --test integration -- --ignored --exact \
    full_disk::a_disk_filled_by_another_program_during_an_import_keeps_the_last_good_state 2>&1) || {
    printf '%s\n' "$out"; echo "full disk: run $((i + 1)) failed"; exit 1; }
  printf '%s\n' "$out" | grep -q 'test result: ok. 1 passed' || {
    printf '%s\n' "$out"; echo "full disk: run $((i + 1)) ran no test"; exit 1; }
  echo "full disk: run $((i + 1)) of ${DISK_REPEATS:-30} passed"
  i=$((i + 1))
done
part "done: every part passed"
