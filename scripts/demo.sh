#!/usr/bin/env bash
# Installs the dependencies, builds libactor (RelWithDebInfo, in build/) and runs the local demo.
# Works from any directory; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

JOBS="${JOBS:-2}"
step() { printf '\n==> demo: %s\n' "$*"; }
trap 'status=$?; [ $status -eq 0 ] || printf "\n==> demo: FAILED (exit %d)\n" "$status" >&2' EXIT

step "installing dependencies (scripts/install-deps.sh)"
bash scripts/install-deps.sh

step "configuring build/ (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo

step "building actor_local_demo (-j$JOBS)"
cmake --build build -j"$JOBS" --target actor_local_demo

step "running build/examples/actor_local_demo"
build/examples/actor_local_demo

step "done"
