#!/usr/bin/env bash
# ctest driver for one libFuzzer target (cmake/KwHelpers.cmake kw_fuzzer):
#   run_fuzzer.sh BINARY SEED_CORPUS_DIR WORK_DIR
# Runs every seed, then 2000 mutations from a fixed seed, so the run is the
# same every time. libFuzzer adds new inputs to the first corpus dir it is
# given: that is an emptied WORK_DIR/corpus, so the checked-in seeds are only
# read. A crash leaves its input in WORK_DIR/ (crash-<sha1>).
set -euo pipefail
bin=$1 seeds=$2 work=$3
rm -rf "$work"
mkdir -p "$work/corpus"
exec "$bin" -runs=2000 -seed=1 -timeout=25 -rss_limit_mb=2048 \
  -artifact_prefix="$work/" -print_final_stats=1 "$work/corpus" "$seeds"
