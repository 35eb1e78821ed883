#!/usr/bin/env bash
# Installs what libactor needs to build, test and run, from Debian 12's packages.
# Idempotent: does nothing when every package is already there; runs
# `apt-get update` once, only when something is missing.
set -euo pipefail

PACKAGES=(
  cmake g++ make pkg-config
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libboost-program-options-dev
  catch2 nlohmann-json3-dev
  python3 python3-zmq python3-msgpack
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
