#!/usr/bin/env bash
# Installs, with apt from its configured sources, what the tests need beyond
# Node and a C++ compiler: the one list, used by .ci/run and the README.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# fuse-overlayfs: the union mounts on kernels without aufs; btrfs-progs: the
# incompatible-backing-filesystem test; clang: the sanitizer build and the
# fuzzers; libfuse3-dev and pkg-config: the FUSE filesystem of the EINTR test;
# docker.io (dockerd, containerd, runc, ctr) and busybox-static: test/plugin/
# runs Docker itself on the plugin, with a busybox image.
apt-get install -y -qq fuse-overlayfs btrfs-progs python3 tar clang libfuse3-dev pkg-config docker.io busybox-static >/dev/null
# golang-go and golang-github-docker-docker-dev: the test oracle, moby's own
# code (test/oracle), built in GOPATH mode from Debian's sources.
apt-get install -y -qq golang-go golang-github-docker-docker-dev >/dev/null
# npm pack cross-builds the linux-arm64 binary; qemu-aarch64 (no binfmt
# registration: the test calls it by name) runs it under Debian's arm64 Node.
apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu qemu-user >/dev/null
