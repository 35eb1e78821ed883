#!/usr/bin/env bash
# The main job: installs the dependencies, builds libactor (RelWithDebInfo, in build/), then
# starts a local cluster (a registry and two nodes on 127.0.0.1) and drives it through the
# Bridge from a shell script (actorctl) and from Python (scripts/cluster-demo.sh), and stops it.
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

step "building actor-registry, actor-node and actorctl (-j$JOBS)"
cmake --build build -j"$JOBS" --target actor-registry actor-node actorctl

step "running the cluster demo (scripts/cluster-demo.sh)"
bash scripts/cluster-demo.sh build

step "done"
