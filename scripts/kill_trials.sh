#!/usr/bin/env bash
# SIGKILLs `qforge hdl net` at random moments while it replaces a design folder and checks, after
# each kill, that the folder is one of the two complete designs (never missing, never half
# written), and that the next complete run leaves no temp folder beside it.
#   scripts/kill_trials.sh BIN [TRIALS]   (BIN: a qforge binary; TRIALS: 50 by default)
set -euo pipefail
bin=$(realpath "$1")
trials=${2:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
net() { "$bin" hdl net --model models/digits_mlp.ron --images "$1" -o "$2" >/dev/null; }
net 200 "$work/ref200"
net 201 "$work/ref201"
mkdir "$work/w"
net 200 "$work/w/net"
start=$(date +%s%N)
net 201 "$work/w/net"
full_us=$((($(date +%s%N) - start) / 1000))
bad=0
left=0
for i in $(seq 1 "$trials"); do
  "$bin" hdl net --model models/digits_mlp.ron --images $((200 + i % 2)) -o "$work/w/net" >/dev/null &
  pid=$!
  us=$(((RANDOM * 32768 + RANDOM) % (full_us * 12 / 10 + 1)))
  sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if ls -A "$work/w" | grep -q qforge-tmp; then left=$((left + 1)); fi
  if ! diff -rq -x timing.json "$work/w/net" "$work/ref200" >/dev/null &&
    ! diff -rq -x timing.json "$work/w/net" "$work/ref201" >/dev/null; then
    bad=$((bad + 1))
    echo "trial $i: killed after ${us} us, the folder is neither complete design"
  fi
done
net 200 "$work/w/net"
rest=$(ls -A "$work/w" | grep -vx net || true)
echo "$trials kills (a full run takes ${full_us} us): $bad bad folders, $left left a temp folder;" \
  "after the next run: ${rest:-no temp folder}"
[[ $bad -eq 0 && -z $rest ]]
