#!/usr/bin/env bash
# libactor's local, remote and Bridge benchmarks for two builds, interleaved, with every RESULT
# key prefixed "before." or "after.": give it to the anchors script so that both builds and the
# anchors come from one run (absolute figures drift on a shared machine):
#
#   ONLY="zmq extra" REPEATS=3 ANCHORS_EXTRA_CMD="$PWD/bench/compare.sh /path/to/old/build $PWD/build" \
#     ../shared/anchors/run.sh
#
# usage: bench/compare.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR   (each with bench/ and node/ built)
#
# On a small shared VM one run of a benchmark swings by more than the differences worth finding
# (spawn rates 1.1-2.8 M/s, Bridge p50 82-129 us for the same binary). So each call runs
# COMPARE_ROUNDS rounds (default 3), alternating which build goes first (before-after, then
# after-before, ...), so that drift over the run falls on both alike, and prints per key the
# median of its rounds. Progress goes to stderr.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BEFORE_BUILD_DIR AFTER_BUILD_DIR" >&2
  exit 2
fi
rounds=${COMPARE_ROUNDS:-3}
case "$rounds" in ''|*[!0-9]*|0) echo "$0: COMPARE_ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2 ;; esac
for d in "$1" "$2"; do
  for bench in actor_local_bench actor_remote_bench actor_bridge_bench; do
    if [ ! -x "$d/bench/$bench" ]; then echo "$0: $d/bench/$bench is missing (build it first)" >&2; exit 2; fi
  done
done
samples=$(mktemp)
trap 'rm -f "$samples"' EXIT
run_side() {  # side build
  for bench in actor_local_bench actor_remote_bench actor_bridge_bench; do
    "$2/bench/$bench" 2>/dev/null | sed -n "s/^RESULT /$1./p" >> "$samples"
  done
}
for ((r = 1; r <= rounds; r++)); do
  echo "compare.sh: round $r of $rounds" >&2
  if ((r % 2 == 1)); then
    run_side before "$1"; run_side after "$2"
  else
    run_side after "$2"; run_side before "$1"
  fi
done
# per key (in first-seen order): the median of its rounds (the lower middle one for an even count)
awk '{ if (!($1 in n)) order[++keys] = $1; v[$1, ++n[$1]] = $2; unit[$1] = $3 }
     END {
       for (k = 1; k <= keys; k++) {
         key = order[k]; m = n[key]
         for (i = 1; i <= m; i++) s[i] = v[key, i] + 0
         for (i = 2; i <= m; i++) { x = s[i]; for (j = i - 1; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]; s[j + 1] = x }
         printf "RESULT %s %.4f %s\n", key, s[int((m + 1) / 2)], unit[key]
       }
     }' "$samples"
