#!/usr/bin/env bash
# make test: ASan+UBSan build, ctest, a short deterministic libFuzzer run of
# tests/fuzz (build-fuzz, clang), the KMS plugin's gRPC tests (Python grpcio,
# tests/kms), then the Node tests (integration, official SDK, crash, and the
# Clevis pin with Debian's clevis, jose and cryptsetup) against
# build-asan/keywarden. Every stage that can run does run;
# the script fails if any stage failed, and says which.
#
# A throw-away PostgreSQL 15 (scripts/pg-test-cluster.sh) runs for the whole
# script: KEYWARDEN_TEST_PG_URL points the store's PostgreSQL tests and the
# crash test at it, and KEYWARDEN_TEST_PG_REQUIRED=1 makes those tests fail
# rather than skip if it is missing. It is stopped and removed at exit.
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-2}
ASAN=${ASAN:-build-asan}
FUZZ=${FUZZ:-build-fuzz}
export KEYWARDEN_BIN=${KEYWARDEN_BIN:-$PWD/$ASAN/keywarden}
failed=()

stage() { echo; echo "==> $*"; }

stage "throw-away PostgreSQL 15 for the store and crash tests"
PG_STATE=$(mktemp -d /tmp/kw-pg-state-XXXXXX)
trap 'scripts/pg-test-cluster.sh stop "$PG_STATE"; rm -rf "$PG_STATE"' EXIT
if scripts/pg-test-cluster.sh start "$PG_STATE" && [[ -s $PG_STATE/url ]]; then
  KEYWARDEN_TEST_PG_URL=$(cat "$PG_STATE/url")
  export KEYWARDEN_TEST_PG_URL
else
  failed+=("postgres (no test server)")
fi
export KEYWARDEN_TEST_PG_REQUIRED=1

stage "configure + build $ASAN (Debug, address+undefined sanitizers, -j$JOBS)"
# Configure when the dir is new or was configured without the sanitizers or
# the tests; otherwise ninja re-runs CMake itself when CMakeLists change.
if [[ -f $ASAN/build.ninja ]] && grep -q '^KW_SANITIZE:STRING=address,undefined$' "$ASAN/CMakeCache.txt" \
   && grep -q '^KW_BUILD_TESTS:BOOL=ON$' "$ASAN/CMakeCache.txt" \
   || cmake -S . -B "$ASAN" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKW_SANITIZE=address,undefined \
        -DKW_BUILD_TESTS=ON; then
  ninja -C "$ASAN" -j "$JOBS" || failed+=("build")
else
  failed+=("configure")
fi

if [[ ! " ${failed[*]} " =~ " build " && ! " ${failed[*]} " =~ " configure " ]]; then
  stage "unit tests (ctest)"
  ctest --test-dir "$ASAN" --output-on-failure -j "$JOBS" || failed+=("ctest")
fi

stage "configure + build $FUZZ (clang, libFuzzer + address + undefined, -j$JOBS)"
# Only the fuzzers and the few libraries they link are built (the `fuzzers`
# target): about 35 s cold on 2 cores, under 15 s on a warm ccache.
if ! command -v clang++ >/dev/null 2>&1; then
  echo "no clang++: fuzz targets not built (scripts/deps.sh test installs it)" >&2
  failed+=("fuzz (no clang)")
elif { [[ -f $FUZZ/build.ninja ]] && grep -q '^KW_BUILD_FUZZERS:BOOL=ON$' "$FUZZ/CMakeCache.txt"; } \
   || cmake -S . -B "$FUZZ" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
        -DKW_BUILD_FUZZERS=ON -DKW_BUILD_TESTS=OFF; then
  if ninja -C "$FUZZ" -j "$JOBS" fuzzers; then
    stage "fuzz targets on their corpus + 2000 runs each (ctest -L fuzz)"
    ctest --test-dir "$FUZZ" -L fuzz --output-on-failure -j "$JOBS" || failed+=("fuzz")
  else
    failed+=("fuzz build")
  fi
else
  failed+=("fuzz configure")
fi

stage "KMS v2 plugin over gRPC (python3 -m unittest, tests/kms)"
# Debian's grpcio and grpc_tools live in /usr/bin/python3's dist-packages.
PYTHON=${PYTHON:-/usr/bin/python3}
if [[ -x $KEYWARDEN_BIN ]]; then
  "$PYTHON" -m unittest discover -s tests/kms -v || failed+=("kms")
else
  echo "no binary at $KEYWARDEN_BIN: KMS plugin tests not run" >&2
  failed+=("kms (no binary)")
fi

stage "npm ci (tests/)"
if (cd tests && npm ci --no-audit --no-fund); then
  if [[ -x $KEYWARDEN_BIN ]]; then
    for suite in integration sdk crash clevis; do
      stage "node --test tests/$suite (KEYWARDEN_BIN=$KEYWARDEN_BIN)"
      (cd tests && node --test --test-concurrency=2 "$suite/") || failed+=("$suite")
    done
  else
    echo "no binary at $KEYWARDEN_BIN: Node tests not run" >&2
    failed+=("node-tests (no binary)")
  fi
else
  failed+=("npm ci")
fi

echo
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "make test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "make test: all stages passed"
