#!/usr/bin/env bash
# Fuzzes libactor's decoders of untrusted input with libFuzzer (clang++-14, ASan+UBSan):
# installs what it needs (scripts/install-deps.sh), builds the targets of fuzz/ into
# build-fuzz/, writes a seed corpus from tests/vectors, and runs each target for SECONDS
# (default 60), two at a time (FUZZ_JOBS=1 for one). Prints one line per target:
#   fuzz: TARGET execs N cov N crashes N
# What a target finds is kept in build-fuzz/corpus/TARGET (grown from run to run); a crash
# leaves its input in build-fuzz/crashes/TARGET/ (replay: build-fuzz/fuzz/fuzz_TARGET FILE)
# and the full log in build-fuzz/logs/TARGET.log. Exits 1 when a target crashed.
# Usage: scripts/fuzz.sh [SECONDS]
#        scripts/fuzz.sh ci      a fixed seed and a fixed number of runs per target (under a minute
#                                each here): the same inputs every time, so a gate that passed once
#                                passes again; the timed runs explore anew each time (run them long
#                                before a release: docs/fuzzing.md)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
# ci: runs per target (under a minute each on this 2-core machine, two at a time), seed 1
declare -A ci_runs=([frame]=3000000 [batch]=1500000 [target]=3000000 [json]=800000)
jobs="${FUZZ_JOBS:-2}"
out="$root/build-fuzz"
targets=(frame batch target json)

"$root/scripts/install-deps.sh"

mkdir -p "$out"
cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DACTOR_FUZZ=ON -DACTOR_BUILD_TESTS=OFF -DACTOR_BUILD_BENCH=OFF -DACTOR_BUILD_EXAMPLES=OFF >"$out/cmake.log" 2>&1 ||
  { cat "$out/cmake.log" >&2; exit 2; }
cmake --build "$out" -j"${BUILD_JOBS:-2}" --target "${targets[@]/#/fuzz_}" >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log" >&2; exit 2; }

python3 "$root/fuzz/make_corpus.py" "$root/tests/vectors" "$out/seeds"
mkdir -p "$out/logs"

run() {  # run TARGET: fuzzes it for $seconds, its log in logs/TARGET.log
  local t="$1"
  mkdir -p "$out/corpus/$t" "$out/crashes/$t"
  # -malloc_limit_mb: a single allocation over 256 MB is a finding (bytes must not cost more than they are long)
  local budget=(-max_total_time="$seconds") corpus="$out/corpus/$t"
  if [ "$seconds" = ci ]; then  # the same start every time: the seeds, in an empty corpus
    budget=(-seed=1 -runs="${ci_runs[$t]}")
    corpus="$out/corpus-ci/$t"
    rm -rf "$corpus" && mkdir -p "$corpus"
  fi
  "$out/fuzz/fuzz_$t" "${budget[@]}" -print_final_stats=1 -malloc_limit_mb=256 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$out/crashes/$t/" "$corpus" "$out/seeds/$t" >"$out/logs/$t.log" 2>&1 || true
}

pending=("${targets[@]}")
while [ ${#pending[@]} -gt 0 ]; do
  batch=("${pending[@]:0:$jobs}")
  pending=("${pending[@]:$jobs}")
  for t in "${batch[@]}"; do run "$t" & done
  wait
done

failed=0
for t in "${targets[@]}"; do
  log="$out/logs/$t.log"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  crashes=$(find "$out/crashes/$t" -type f | wc -l)
  echo "fuzz: $t execs ${execs:-?} cov ${cov:-?} crashes $crashes"
  if [ "$crashes" -ne 0 ] || grep -q 'ERROR: \(AddressSanitizer\|libFuzzer\)\|runtime error:' "$log"; then
    echo "fuzz: $t FAILED: see $log and $out/crashes/$t/" >&2
    failed=1
  fi
done
exit $failed
