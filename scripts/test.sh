#!/usr/bin/env bash
# Installs the dependencies, builds everything with -Werror in build/ and runs every test
# (unit, integration, examples, including the find_package example) with ctest, then the
# container tests (scripts/container-test.sh: skipped where no Docker engine answers), the fuzzers
# (scripts/fuzz.sh ci: a fixed seed and run count, about 60 s each; FUZZ_SECONDS=n for timed runs
# instead, SKIP_FUZZ=1 skips them); then, unless
# SKIP_SANITIZERS=1, the same tests in an ASan+UBSan build (build-asan/) and a TSan build
# (build-tsan/). Works from any directory; safe to run again. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

JOBS="${JOBS:-2}"
step() { printf '\n==> test: %s (%ds elapsed)\n' "$*" "$SECONDS"; }
trap 'status=$?; [ $status -eq 0 ] || printf "\n==> test: FAILED (exit %d) after %ds\n" "$status" "$SECONDS" >&2' EXIT

# configure_build_test DIR [cmake options...]: configure, build and run ctest in DIR.
configure_build_test() {
  local dir="$1"
  shift
  step "configuring $dir/ ($*)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  step "building $dir/ (-j$JOBS)"
  cmake --build "$dir" -j"$JOBS"
  step "running ctest in $dir/"
  # a per-test time limit for tests that set none of their own; the container tests (label
  # container, plain build only) run afterwards, from scripts/container-test.sh
  (cd "$dir" && ${CTEST_WRAPPER:-} ctest --output-on-failure --timeout 900 -LE container)
}

step "installing dependencies (scripts/install-deps.sh)"
bash scripts/install-deps.sh

configure_build_test build -DACTOR_SANITIZE= -DACTOR_WERROR=ON
# The find_package example (install, then build examples/find_package against the install)
# runs inside that ctest run as the test example.find_package.

# The decoders of untrusted input under libFuzzer (clang++-14, ASan+UBSan): a fixed seed and run
# count, about 60 s each (FUZZ_SECONDS=n: timed runs from a random seed instead).
if [ "${SKIP_FUZZ:-0}" = 1 ]; then
  step "skipping the fuzzers (SKIP_FUZZ=1)"
else
  step "fuzzing (scripts/fuzz.sh ${FUZZ_SECONDS:-ci}: build-fuzz/)"
  BUILD_JOBS="$JOBS" bash scripts/fuzz.sh "${FUZZ_SECONDS:-ci}"
fi

# The cluster in Docker, from the images of this build; SKIPPED where no Docker engine answers.
step "container tests (scripts/container-test.sh)"
bash scripts/container-test.sh build

if [ "${SKIP_SANITIZERS:-0}" = 1 ]; then
  step "skipping the sanitizer builds (SKIP_SANITIZERS=1)"
else
  # -Werror is the plain build's job: under -fsanitize GCC 12 warns falsely (e.g.
  # -Wmaybe-uninitialized inside <regex>, which Catch2 includes).
  # The sanitizer builds compile at -O1 with line tables only (-g1: stack traces keep their file:line)
  # and without the benchmarks (no test runs them): about half the compile time of -O2 -g, which
  # keeps this whole script inside CI's time on 2 cores.
  sanitizer_build=(-DACTOR_WERROR=OFF -DACTOR_BUILD_BENCH=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  configure_build_test build-asan -DACTOR_SANITIZE=address "${sanitizer_build[@]}"

  # tests/tsan.supp: libzmq is not built with TSan (see the file); child node processes inherit this
  export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}"
  # GCC 12's TSan cannot map its shadow memory when the kernel randomizes mmap with more
  # than 28 bits ("unexpected memory mapping"); run without ASLR there, if allowed.
  CTEST_WRAPPER=""
  if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ] && setarch "$(uname -m)" -R true 2>/dev/null; then
    CTEST_WRAPPER="setarch $(uname -m) -R"
    echo "test: vm.mmap_rnd_bits > 28: running the TSan tests with ASLR off"
  fi
  configure_build_test build-tsan -DACTOR_SANITIZE=thread "${sanitizer_build[@]}"
fi

step "all tests passed"
