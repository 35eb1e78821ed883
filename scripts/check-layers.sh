#!/usr/bin/env bash
# Checks the layering of libactor/src: a layer includes only layers below it.
#   core/      no ZeroMQ, nothing from wire/ net/ registry/ node/ bridge/
#   wire/      no ZeroMQ, nothing from net/ registry/ node/ bridge/
#   net/       nothing from registry/ node/ bridge/
#   registry/  nothing from node/ bridge/
#   node/      nothing from bridge/ (the node composes net/ and registry/)
#   bridge/    nothing from node/ or registry/ (a client of nodes, not a node)
# Prints each offending file and include, and exits 1 if there is one.
# Known exceptions, each to be removed when fixed, are listed below (file and
# included path, exactly); they are printed, and do not fail the check.
# Usage: scripts/check-layers.sh [repository root]
set -euo pipefail

root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
src="$root/libactor/src"
if [[ ! -d "$src/core" ]]; then
  echo "check-layers: no $src/core" >&2
  exit 2
fi

known_exceptions=()

zmq='(zmq|cppzmq)[^/]*\.h(pp)?|zmq/'
failed=0

# check LAYER REGEX: every #include in LAYER's files that matches REGEX is a violation
check() {
  local layer="$1" forbidden="$2"
  [[ -d "$src/$layer" ]] || return 0
  local hits
  hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($forbidden)" "$src/$layer" \
           --include='*.hpp' --include='*.h' --include='*.cpp' --include='*.ipp' || true)
  if [[ -n "$hits" ]]; then
    while IFS= read -r hit; do
      local file="${hit%%:*}" rest="${hit#*:}"
      local line="${rest%%:*}" text="${rest#*:}"
      local rel="${file#"$root"/}"
      local included
      included=$(echo "$text" | sed -E 's/^[^<"]*[<"]([^>"]*)[>"].*$/\1/')
      local known=0 x
      for x in ${known_exceptions[@]+"${known_exceptions[@]}"}; do
        [[ "$x" == "$rel $included" ]] && known=1
      done
      if [[ $known -eq 1 ]]; then
        echo "check-layers: known exception: $rel:$line: $layer/ includes $included"
        continue
      fi
      echo "check-layers: $rel:$line: $layer/ must not include: $(echo "$text" | sed 's/^[[:space:]]*//')"
      failed=1
    done <<<"$hits"
  fi
}

check core "$zmq|wire/|net/|registry/|node/|bridge/"
check wire "$zmq|net/|registry/|node/|bridge/"
check net "registry/|node/|bridge/"
check registry "node/|bridge/"
check node "bridge/"
check bridge "node/|registry/"

if [[ $failed -ne 0 ]]; then
  echo "check-layers: FAILED (a layer includes only layers below it: core < wire < net < registry < node; bridge above net)"
  exit 1
fi
echo "check-layers: ok"
