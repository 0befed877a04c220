#!/usr/bin/env bash
# Makes an arm64 (aarch64 glibc) root holding Debian's Node and the libraries
# it links, for `qemu-aarch64 -L ROOT ROOT/usr/bin/node` to run the packed
# package's linux-arm64 binary (test/install.test.ts). Prints ROOT.
#
# Nothing is installed on the host: apt works on a private state of its own
# (package lists, an empty dpkg status, downloaded .debs) under CACHE, with
# arm64 as its only architecture and the host's configured sources. Its
# resolver picks what nodejs needs: on an empty status that is exactly the
# Depends/Pre-Depends closure (18 packages, 25 MB on Debian 12), and `dpkg
# -x` unpacks each into ROOT. A finished ROOT is reused.
#
# Usage: scripts/arm64-sysroot.sh [CACHE]   (default node_modules/.cache/arm64-sysroot)
set -euo pipefail
cd "$(dirname "$0")/.."
cache="$(realpath -m "${1:-node_modules/.cache/arm64-sysroot}")"
root="$cache/root"
stamp="$root/.packages"

if [ -f "$stamp" ]; then
  echo "$root"
  exit 0
fi

rm -rf "$cache"
mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$root"
: >"$cache/status"
apt_private=(
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64
  -o Dir::State::Lists="$cache/lists" -o Dir::State::status="$cache/status"
  -o Dir::Cache="$cache" -o Dir::Cache::archives="$cache/archives"
  # The host's apt and dpkg are not touched: no lock of theirs is needed,
  # and the private files are root's, so apt's _apt user could not write them.
  -o Debug::NoLocking=1 -o APT::Sandbox::User=root
  -qq
)
apt-get "${apt_private[@]}" update >&2
apt-get "${apt_private[@]}" install -y --download-only --no-install-recommends nodejs >&2
for deb in "$cache"/archives/*.deb; do
  dpkg -x "$deb" "$root"
done
# Written last: its presence says ROOT is whole.
(cd "$cache/archives" && ls -1 ./*.deb | sed 's#^\./##') >"$stamp.partial"
mv "$stamp.partial" "$stamp"
echo "$root"
