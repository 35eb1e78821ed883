#!/usr/bin/env bash
# One repeat of libactor's local, remote and Bridge benchmarks for two builds, one after the other,
# with every RESULT key prefixed "before." or "after.": give it to the anchors script so that both
# builds and the anchors come from one run (absolute figures drift on a shared machine):
#
#   ONLY="zmq extra" REPEATS=3 ANCHORS_EXTRA_CMD="$PWD/bench/compare.sh /path/to/old/build $PWD/build" \
#     ../shared/anchors/run.sh
#
# usage: bench/compare.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR   (each with bench/ and node/ built)
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BEFORE_BUILD_DIR AFTER_BUILD_DIR" >&2
  exit 2
fi
for side in before after; do
  if [ "$side" = before ]; then build="$1"; else build="$2"; fi
  for bench in actor_local_bench actor_remote_bench actor_bridge_bench; do
    "$build/bench/$bench" 2>/dev/null | sed -n "s/^RESULT /RESULT $side./p"
  done
done
