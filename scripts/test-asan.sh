#!/usr/bin/env bash
# Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ and runs the whole test suite against that build, with the
# sanitizer runtimes preloaded into node. Any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/build-asan"
rm -rf "$out"
mkdir -p "$out"
cp -r binding.gyp native package.json "$out/"
ln -s "$PWD/node_modules" "$out/node_modules"
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
(cd "$out" && CFLAGS="$sanitize" CXXFLAGS="$sanitize" LDFLAGS="-fsanitize=address,undefined" npx node-gyp rebuild --loglevel=error >/dev/null)

export AUFS_GRAPHDRIVER_NATIVE="$out/build/Release/aufs_native.node"
# Node itself is not instrumented and keeps memory until exit: leaks are not
# what this run looks for; heap errors and undefined behaviour are.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
asan_runtime="$(g++ -print-file-name=libasan.so)"
ubsan_runtime="$(g++ -print-file-name=libubsan.so)"
# Child processes inherit the runtimes too: node children load this addon.
export LD_PRELOAD="$asan_runtime $ubsan_runtime"
exec npx mocha "$@"
