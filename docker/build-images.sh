#!/usr/bin/env bash
# Builds the container images from a local build, with no container registry and no base image:
#
#   libactor/actor-base       FROM scratch: the shared-library closure of the programs (as ldd
#                             resolves it on this machine, the dynamic loader included), libactor.so,
#                             actorctl (when the build has it), /etc/passwd with the user `actor`
#                             (uid 10001), nsswitch.conf. Not run by itself; the others build on it.
#   libactor/actor-node       + actor-node      (ENTRYPOINT; listens on port 7100)
#   libactor/actor-registry   + actor-registry  (ENTRYPOINT; listens on port 7000)
#   libactor/actor-test-node  + actor-test-node (the node program with the integration tests' actor
#                             types, for the container tests; only when the build has it)
#
# usage: docker/build-images.sh [BUILD_DIR]     (default: build/ of this checkout)
#
# The binaries are (re)built first with `cmake --build` (configured first if BUILD_DIR has no
# CMakeCache.txt), so the images always hold the current code. Safe to run again: unchanged inputs
# give the same images (the layer cache), and an image a new build replaces is removed when
# nothing uses it. Prints the images and their sizes. Env: JOBS (default 2), ACTOR_IMAGE_TAG
# (default latest).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(realpath -m "${1:-$ROOT/build}")"
JOBS="${JOBS:-2}"
TAG="${ACTOR_IMAGE_TAG:-latest}"
say() { printf 'build-images: %s\n' "$*"; }
die() { printf 'build-images: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null || die "no docker command"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"

# ---- the binaries -------------------------------------------------------------------------------

# has_target NAME: whether the build system in $BUILD defines a target NAME (Makefiles or Ninja)
has_target() {
  { [ -f "$BUILD/Makefile" ] && grep -q "^$1:" "$BUILD/Makefile"; } ||
    { [ -f "$BUILD/build.ninja" ] && grep -q "^build $1:" "$BUILD/build.ninja"; }
}

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  say "configuring $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets=(actor-node actor-registry)
for t in actorctl actor-test-node; do
  if has_target "$t"; then targets+=("$t"); fi
done
say "building ${targets[*]} in $BUILD (-j$JOBS)"
cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}" >/dev/null ||
  die "the build failed: run cmake --build $BUILD --target ${targets[*]} to see why"

# the programs where this project's CMake puts them (a plain find would also meet installed
# copies, e.g. the find_package example's prefix inside the build tree)
built() { if [ -x "$BUILD/$1" ]; then echo "$BUILD/$1"; fi; }
NODE_BIN="$(built node/actor-node)"
REGISTRY_BIN="$(built registry/actor-registry)"
ACTORCTL_BIN="$(built tools/actorctl)"
TEST_NODE_BIN="$(built tests/integration/actor-test-node)"
[ -n "$NODE_BIN" ] && [ -n "$REGISTRY_BIN" ] || die "actor-node or actor-registry missing in $BUILD"
if [ -n "$ACTORCTL_BIN" ]; then
  say "actorctl: $ACTORCTL_BIN"
else
  say "actorctl: not built yet, the images go without it (and compose healthchecks need it)"
fi

for b in "$NODE_BIN" "$REGISTRY_BIN" ${ACTORCTL_BIN:+"$ACTORCTL_BIN"} ${TEST_NODE_BIN:+"$TEST_NODE_BIN"}; do
  if ldd "$b" | grep -q "not found"; then die "$b: $(ldd "$b" | grep "not found" | head -1)"; fi
done

# ---- staging ------------------------------------------------------------------------------------

STAGE="$BUILD/docker-images"
rm -rf "$STAGE"
mkdir -p "$STAGE"/{base/rootfs,node,registry,test-node}
echo 'file(RPATH_REMOVE FILE "${FILE}")' >"$STAGE/rpath-remove.cmake"
ROOTFS="$STAGE/base/rootfs"

# put SRC DEST: copies the file SRC resolves to (not a symlink) to DEST, keeping its mtime, so an
# unchanged input gives an unchanged layer
put() {
  mkdir -p "$(dirname "$2")"
  cp -L --preserve=mode,timestamps "$1" "$2"
}

# put_program SRC DEST: a program or libactor.so of the build: without the build tree's RUNPATH
# (the image finds libactor.so through LD_LIBRARY_PATH), without debug symbols
put_program() {
  put "$1" "$2"
  cmake -DFILE="$2" -P "$STAGE/rpath-remove.cmake" >/dev/null
  strip --strip-unneeded "$2"
  touch -r "$1" "$2"
}

# the shared-library closure of every program, at the paths ldd resolved them to on this machine
# (the loader searches /lib/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu without any ld.so.cache);
# libactor.so itself goes to /usr/local/lib
declare -A seen=()
for b in "$NODE_BIN" "$REGISTRY_BIN" ${ACTORCTL_BIN:+"$ACTORCTL_BIN"} ${TEST_NODE_BIN:+"$TEST_NODE_BIN"}; do
  while read -r name arrow path _; do
    if [ "$arrow" = "=>" ]; then
      lib_name="$name" lib_path="$path"
    elif [[ "$name" == /* ]]; then
      lib_name="$name" lib_path="$name"  # the dynamic loader, e.g. /lib64/ld-linux-x86-64.so.2
    else
      continue  # linux-vdso.so.1: the kernel's
    fi
    [ -n "${seen[$lib_name]:-}" ] && continue
    seen[$lib_name]=1
    if [ "$lib_name" = libactor.so ]; then
      put_program "$lib_path" "$ROOTFS/usr/local/lib/libactor.so"
    elif [[ "$lib_name" == /* ]]; then
      put "$lib_path" "$ROOTFS$lib_name"
    else
      put "$lib_path" "$ROOTFS$(dirname "$lib_path")/$lib_name"
    fi
  done < <(ldd "$b")
done
[ -f "$ROOTFS/usr/local/lib/libactor.so" ] || die "ldd did not list libactor.so for $NODE_BIN"
if [ -n "$ACTORCTL_BIN" ]; then put_program "$ACTORCTL_BIN" "$ROOTFS/usr/local/bin/actorctl"; fi

mkdir -p "$ROOTFS/etc" "$ROOTFS/tmp"
chmod 1777 "$ROOTFS/tmp"
# the programs run as `actor`, not root; getaddrinfo (ZeroMQ connecting to tcp://node1:7100)
# reads /etc/hosts and then asks Docker's DNS (both built into Debian 12's glibc)
printf 'root:x:0:0:root:/root:/sbin/nologin\nactor:x:10001:10001:libactor:/nonexistent:/sbin/nologin\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nactor:x:10001:\n' >"$ROOTFS/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ROOTFS/etc/nsswitch.conf"
touch -d @0 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group" "$ROOTFS/etc/nsswitch.conf" "$ROOTFS/tmp" "$ROOTFS/etc"

REVISION="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
LABELS="LABEL org.opencontainers.image.source=\"libactor\" org.opencontainers.image.revision=\"$REVISION\""

cat >"$STAGE/base/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV LD_LIBRARY_PATH=/usr/local/lib
USER 10001:10001
$LABELS
EOF

put_program "$NODE_BIN" "$STAGE/node/actor-node"
cat >"$STAGE/node/Dockerfile" <<EOF
FROM libactor/actor-base:$TAG
COPY actor-node /usr/local/bin/actor-node
# listen on the container's own address (eth0), which the node then advertises; compose.yml
# listens on 0.0.0.0 and advertises the service name instead
ENV ACTOR_LISTEN=tcp://eth0:7100
EXPOSE 7100
ENTRYPOINT ["/usr/local/bin/actor-node"]
EOF

put_program "$REGISTRY_BIN" "$STAGE/registry/actor-registry"
cat >"$STAGE/registry/Dockerfile" <<EOF
FROM libactor/actor-base:$TAG
COPY actor-registry /usr/local/bin/actor-registry
ENV ACTOR_LISTEN=tcp://eth0:7000
EXPOSE 7000
ENTRYPOINT ["/usr/local/bin/actor-registry"]
EOF

if [ -n "$TEST_NODE_BIN" ]; then
  put_program "$TEST_NODE_BIN" "$STAGE/test-node/actor-test-node"
  cat >"$STAGE/test-node/Dockerfile" <<EOF
FROM libactor/actor-node:$TAG
COPY actor-test-node /usr/local/bin/actor-test-node
ENTRYPOINT ["/usr/local/bin/actor-test-node"]
EOF
fi

# ---- the images ---------------------------------------------------------------------------------

built=()
# build IMAGE DIR: builds DIR into IMAGE:TAG; removes the image it replaces when nothing uses it
build() {
  local image="$1:$TAG" dir="$2" old new out
  old="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
  # no BuildKit needed: the classic builder does FROM scratch and local base images offline
  if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$image" "$dir" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "docker build of $image failed"
  fi
  new="$(docker image inspect -f '{{.Id}}' "$image")"
  if [ -n "$old" ] && [ "$old" != "$new" ]; then
    docker image rm "$old" >/dev/null 2>&1 || true  # still used by a container, or a parent: keep it
  fi
  built+=("$image")
}

build libactor/actor-base "$STAGE/base"
build libactor/actor-node "$STAGE/node"
build libactor/actor-registry "$STAGE/registry"
if [ -n "$TEST_NODE_BIN" ]; then build libactor/actor-test-node "$STAGE/test-node"; fi

# a smoke test: each program starts in its image and answers --version
for image_bin in actor-node:actor-node actor-registry:actor-registry; do
  image="libactor/${image_bin%%:*}:$TAG"
  docker run --rm --network none "$image" --version >/dev/null ||
    die "$image does not start (docker run --rm $image --version)"
done
if [ -n "$ACTORCTL_BIN" ]; then
  docker run --rm --network none --entrypoint actorctl "libactor/actor-node:$TAG" --help >/dev/null ||
    die "actorctl does not start in libactor/actor-node:$TAG"
fi

say "images (each includes actor-base's $(du -sh "$ROOTFS" | cut -f1) of libraries and tools):"
for image in "${built[@]}"; do
  bytes="$(docker image inspect -f '{{.Size}}' "$image")"
  printf '  %-32s %6.1f MB\n' "$image" "$(awk "BEGIN{print $bytes/1000000}")"
done
