#!/usr/bin/env bash
# Drives a running cluster from a shell script with actorctl (the command-line Bridge).
#
#   drive_with_actorctl.sh setup|finish REGISTRY NODE1 NODE2
#
# setup:  spawns a counter named "hits" on NODE1 and a key-value store named "store" on
#         NODE2, increments the counter three times and puts a key, all by name.
# finish: reads the counter (which the Python client incremented meanwhile) and stops
#         both actors, printing their stopped replies.
# ACTORCTL names the actorctl binary (default: actorctl on PATH).
set -euo pipefail
step="$1" registry="$2" node1="$3" node2="$4"
ctl() { "${ACTORCTL:-actorctl}" --registry "$registry" --timeout 3000 "$@"; }
say() { printf '[actorctl] %s\n' "$*"; }

case "$step" in
  setup)
    say "spawn counter 'hits' on node1 -> $(ctl --node "$node1" spawn counter hits '{"start": 0}')"
    say "spawn kv 'store' on node2 -> $(ctl --node "$node2" spawn kv store)"
    for by in 1 2 3; do
      say "call hits actor.counter.incr {\"by\": $by} -> $(ctl call hits actor.counter.incr "{\"by\": $by}")"
    done
    say "call store actor.kv.put -> $(ctl call store actor.kv.put '{"key": "greeting", "value": "hello from a shell script"}')"
    say "list -> $(ctl list | tr '\n' ' ')"
    ;;
  finish)
    say "call hits actor.counter.get -> $(ctl call hits actor.counter.get)"
    say "stop hits store ->"
    ctl stop hits store | sed 's/^/[actorctl]   /'
    # a name is released the moment its actor stops
    if ctl call hits actor.counter.get 2>/dev/null; then
      say "hits still answers after its stop" >&2
      exit 1
    else
      code=$?
      say "call hits after the stop -> exit code $code (4: no_such_actor)"
      [ "$code" -eq 4 ]
    fi
    ;;
  *)
    echo "usage: $0 setup|finish REGISTRY NODE1 NODE2" >&2
    exit 2
    ;;
esac
