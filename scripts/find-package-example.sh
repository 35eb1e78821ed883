#!/usr/bin/env bash
# Builds and runs examples/find_package against an *installed* libactor, the way another
# project would use it: installs BUILD_DIR to WORK_DIR/prefix, configures the example with
# CMAKE_PREFIX_PATH=WORK_DIR/prefix, builds it, runs it.
#   usage: scripts/find-package-example.sh [BUILD_DIR (default: build)] [WORK_DIR (default: a new temp dir)]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
WORK_DIR="${2:-}"
CMAKE="${CMAKE_COMMAND:-cmake}"

if [ -z "$WORK_DIR" ]; then
  WORK_DIR="$(mktemp -d /tmp/libactor-find-package.XXXXXX)"
  trap 'rm -rf "$WORK_DIR"' EXIT
fi
rm -rf "$WORK_DIR/prefix" "$WORK_DIR/build"
mkdir -p "$WORK_DIR"

echo "find-package-example: installing $BUILD_DIR to $WORK_DIR/prefix"
"$CMAKE" --install "$BUILD_DIR" --prefix "$WORK_DIR/prefix" >/dev/null

echo "find-package-example: configuring examples/find_package"
"$CMAKE" -S "$ROOT/examples/find_package" -B "$WORK_DIR/build" \
  -DCMAKE_PREFIX_PATH="$WORK_DIR/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  ${CXX:+-DCMAKE_CXX_COMPILER="$CXX"}

echo "find-package-example: building"
"$CMAKE" --build "$WORK_DIR/build" -j2

echo "find-package-example: running"
"$WORK_DIR/build/ping_pong"

echo "find-package-example: my_node --version (a node program built against the installed actor::node_program)"
out="$("$WORK_DIR/build/my_node" --version)"
echo "$out"
case "$out" in
  actor-node*) ;;
  *) echo "find-package-example: my_node --version printed '$out', expected actor-node's version" >&2; exit 1 ;;
esac
