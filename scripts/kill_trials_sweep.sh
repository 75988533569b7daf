#!/usr/bin/env bash
# SIGKILLs `qforge sweep` of the default sweep at random moments, resumes it with --resume, and
# checks after each trial that the resumed folder equals an uninterrupted run's byte for byte
# (every file but timing.json, the measured figures), and that no temp file is left in it.
#   scripts/kill_trials_sweep.sh BIN [TRIALS] [SEED]   (BIN: a qforge binary; 50 trials by default)
set -euo pipefail
bin=$(realpath "$1")
trials=${2:-50}
RANDOM=${3:-16}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sweep() { "$bin" sweep models/sweep_default.ron --jobs 2 -o "$@" >/dev/null; }
start=$(date +%s%N)
sweep "$work/full"
full_us=$((($(date +%s%N) - start) / 1000))
bad=0
failed=0
partial=0
for i in $(seq 1 "$trials"); do
  dir="$work/t$i"
  "$bin" sweep models/sweep_default.ron --jobs 2 -o "$dir" >/dev/null 2>&1 &
  pid=$!
  us=$(((RANDOM * 32768 + RANDOM) % (full_us + 1)))
  sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # How far the killed run got: rows on disk (a torn last line counts as none).
  rows=$( (grep -c '}$' "$dir/results.json" 2>/dev/null || true) | head -1)
  if [[ ${rows:-0} -lt 87 ]]; then partial=$((partial + 1)); fi
  if ! sweep "$dir" --resume 2>"$work/err"; then
    failed=$((failed + 1))
    echo "trial $i: killed after ${us} us, the resume failed: $(cat "$work/err")"
    continue
  fi
  if ! diff -rq -x timing.json "$dir" "$work/full" >"$work/diff"; then
    bad=$((bad + 1))
    echo "trial $i: killed after ${us} us with ${rows:-0} rows on disk, the resumed folder differs:"
    cat "$work/diff"
  fi
  rm -rf "$dir"
done
echo "$trials kills of sweep (a full run takes ${full_us} us; $partial killed before all 87 rows were on disk):" \
  "$failed resumes failed, $bad resumed folders differ from the uninterrupted one"
[[ $bad -eq 0 && $failed -eq 0 ]]
