#!/usr/bin/env bash
# The container tests: builds the images from the plain build (docker/build-images.sh) and runs the
# ctest tests labelled `container` (tests/container/): a registry and three nodes in Docker, calls
# from the host and across containers, and a node killed, paused, cut off the network, stopped, and
# the registry killed and restarted; the host driving the cluster by name through a gateway
# (gateway_test.py); a node SIGKILLed and started again at once (restart_test.py). About 4 minutes.
#
# usage: scripts/container-test.sh [BUILD_DIR]    (default: build/; configured and built if needed)
#
# Where no Docker engine answers (`docker info` fails) it prints SKIPPED and exits 0; otherwise it
# exits non-zero when a test fails. scripts/test.sh calls it after the plain build's ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD="${1:-build}"
JOBS="${JOBS:-2}"
say() { printf '==> container tests: %s\n' "$*"; }

if ! command -v docker >/dev/null; then
  say "SKIPPED (no docker command: no Docker engine to run them on)"
  exit 0
fi
if ! why="$(docker info 2>&1 >/dev/null)"; then
  say "SKIPPED (no Docker engine answers: docker info failed: $(printf '%s' "$why" | tail -1))"
  exit 0
fi

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  say "configuring $BUILD/"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
if grep -q '^ACTOR_SANITIZE:STRING=.\+' "$BUILD/CMakeCache.txt"; then
  echo "container-test: $BUILD/ is a sanitizer build; the images are built from a plain build" >&2
  exit 2
fi
say "building $BUILD/ (-j$JOBS)"
cmake --build "$BUILD" -j"$JOBS"

say "building the images from $BUILD/"
bash docker/build-images.sh "$BUILD"

measurements="$PWD/$BUILD/Testing/container-measurements.txt"
mkdir -p "$(dirname "$measurements")"
: >"$measurements"
say "running ctest -L container in $BUILD/"
status=0
# the ctest fixture container.images need not build them again
(cd "$BUILD" && ACTOR_CONTAINER_IMAGES_READY=1 ctest -L container --output-on-failure --no-tests=error --timeout 900) ||
  status=$?
if [ -s "$measurements" ]; then
  say "times measured (s; detection bounds: node_down <= 3.5, names gone <= 4.5, names back <= 2.5):"
  sed 's/^/    /' "$measurements"
fi
exit $status
