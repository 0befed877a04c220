#!/usr/bin/env bash
# Builds the libFuzzer targets of native/fuzz (clang, ASan, UBSan) and runs
# each for FUZZ_SECONDS (15 by default) from the seed archives of the
# in-process fuzz test. A crash, leak, hang or failed check fails the run;
# the input that caused it is left in build-fuzz/ for replay:
#   build-fuzz/NAME_fuzzer build-fuzz/NAME_fuzzer-crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/build-fuzz"
seconds="${FUZZ_SECONDS:-15}"
make -s -C native/fuzz -j"$(nproc)" OUT="$out"

corpus="$out/corpus"
rm -rf "$corpus"
mkdir -p "$corpus/seeds"
npx tsx test/reliability/support/writeFuzzSeeds.ts "$corpus/seeds"

# The targets extract archives into $TMPDIR: a tmpfs where device nodes are inert.
sandbox="$(mktemp -d)"
mount -t tmpfs -o nodev,size=512m tmpfs "$sandbox"
trap 'umount "$sandbox" && rmdir "$sandbox"' EXIT

for target in "$out"/*_fuzzer; do
  name="$(basename "$target")"
  mkdir -p "$corpus/$name"
  cp "$corpus"/seeds/* "$corpus/$name/"
  log="$out/$name.log"
  if ! TMPDIR="$sandbox" "$target" -max_total_time="$seconds" -max_len=32768 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$out/$name-" "$corpus/$name" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $name failed (log: $log)" >&2
    exit 1
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  echo "fuzz: $name: $execs inputs in ${seconds}s, no failure"
done
