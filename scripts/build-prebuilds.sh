#!/usr/bin/env bash
# Builds the prebuilt binaries that `npm pack` ships, one per Linux glibc
# architecture: prebuilds/linux-x64/ and prebuilds/linux-arm64/, N-API,
# stripped. The host's architecture builds with the host's compiler, the
# other with Debian's cross g++ (g++-aarch64-linux-gnu on an x64 host,
# g++-x86-64-linux-gnu on an arm64 one): an N-API addon links against no
# Node library, so Node's headers are all a cross build needs.
#
# Each build runs in a scratch copy of the sources, so build/ (the binary
# the tests and a source install use) is never replaced by another
# architecture's.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

declare -A TRIPLET=([x64]=x86_64-linux-gnu [arm64]=aarch64-linux-gnu)
host_arch="$(node -p process.arch)"

scratch="$(mktemp -d /tmp/aufs-prebuilds-XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
rm -rf prebuilds

for arch in x64 arm64; do
  src="$scratch/$arch"
  mkdir "$src"
  cp -r binding.gyp native package.json "$src/"
  rm -rf "$src/native/fuzz"
  ln -s "$repo/node_modules" "$src/node_modules"
  toolchain=()
  strip_bin=strip
  if [ "$arch" != "$host_arch" ]; then
    prefix="${TRIPLET[$arch]}-"
    if ! command -v "${prefix}g++" >/dev/null; then
      echo "build-prebuilds: ${prefix}g++ not found: install Debian's g++-${TRIPLET[$arch]//_/-}" >&2
      exit 1
    fi
    toolchain=(CC="${prefix}gcc" CXX="${prefix}g++")
    strip_bin="${prefix}strip"
  fi
  # JOBS: node-gyp's make -j, both cores for each build in turn. Its chatter
  # is shown only when the build fails.
  log="$scratch/$arch.log"
  if ! env "${toolchain[@]}" JOBS=max npx prebuildify --napi --strip --strip-bin "$strip_bin" --tag-libc \
    --arch "$arch" --cwd "$src" --out "$repo" >"$log" 2>&1; then
    cat "$log" >&2
    echo "build-prebuilds: the linux-$arch build failed" >&2
    exit 1
  fi
done
