#!/usr/bin/env bash
# The main job: a local cluster (a registry and two nodes on 127.0.0.1, ports chosen at run
# time) driven through the Bridge, from a shell script (actorctl) and from Python; then every
# process is stopped with SIGTERM and must exit 0.
#
#   scripts/cluster-demo.sh [BUILD_DIR]     (default: build; the binaries must be built)
#
# Used by scripts/demo.sh and by the test example.cluster_demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build}"
registry_bin="$build/registry/actor-registry"
node_bin="$build/node/actor-node"
export ACTORCTL="$build/tools/actorctl"
for bin in "$registry_bin" "$node_bin" "$ACTORCTL"; do
  [ -x "$bin" ] || { echo "cluster-demo: $bin is not built (cmake --build $build)" >&2; exit 2; }
done

work="$(mktemp -d /tmp/libactor-demo.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

# start NAME BINARY ARGS...: starts a process on 127.0.0.1:0; sets $address from its ready line
start() {
  local name="$1"
  shift
  : > "$work/$name.log"  # exists before the first read below (the child may not have opened it yet)
  "$@" --name "$name" --listen tcp://127.0.0.1:0 >> "$work/$name.log" 2>&1 &
  pids+=($!)
  local deadline=$((SECONDS + 10))
  address=""
  while [ -z "$address" ]; do
    address="$(sed -n 's/.* event=ready .*address=\(tcp:[^ ]*\).*/\1/p' "$work/$name.log" | head -1)"
    if [ -z "$address" ]; then
      if [ $SECONDS -ge $deadline ] || ! kill -0 "${pids[-1]}" 2>/dev/null; then
        echo "cluster-demo: $name did not start:" >&2
        cat "$work/$name.log" >&2
        exit 1
      fi
      sleep 0.05  # polling the log file for the ready line, with a deadline
    fi
  done
  printf '%-9s %s (pid %d)\n' "$name" "$address" "${pids[-1]}"
}

say "starting a registry and two nodes on 127.0.0.1"
start registry "$registry_bin"
registry="$address"
start node1 "$node_bin" --registry "$registry"
node1="$address"
start node2 "$node_bin" --registry "$registry"
node2="$address"

say "a shell script spawns and calls actors through actorctl"
examples/cluster/drive_with_actorctl.sh setup "$registry" "$node1" "$node2"

say "a Python script uses them by name (clients/python)"
/usr/bin/python3 examples/python/cluster_demo.py "$registry" "$node2"

say "the shell script reads the counter again and stops the actors"
examples/cluster/drive_with_actorctl.sh finish "$registry" "$node1" "$node2"

say "the nodes' counters (actorctl stats)"
for n in "$node1" "$node2"; do
  "$ACTORCTL" --timeout 3000 stats "$n" | /usr/bin/python3 -c '
import json, sys
print("{node}: {messages_received} messages received, {messages_sent} sent, {actors_alive} actors alive, "
      "{decode_errors} decode errors".format(**json.load(sys.stdin)))'
done

say "stopping the cluster (SIGTERM, the nodes first; each process must exit 0)"
status=0
names=(registry node1 node2)
for i in 1 2 0; do
  kill -TERM "${pids[$i]}"
  code=0
  wait "${pids[$i]}" || code=$?
  printf '%-9s exited %d\n' "${names[$i]}" "$code"
  [ "$code" -eq 0 ] || status=1
done
pids=()
[ $status -eq 0 ] && say "done: the cluster did its job and stopped cleanly"
exit $status
