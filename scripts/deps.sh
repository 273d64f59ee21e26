#!/usr/bin/env bash
# Installs the Debian packages Keywarden needs, only those that are missing.
#
#   scripts/deps.sh build   compiler, CMake/Ninja and the C++ libraries (gRPC
#                           and protobuf with their compilers: the KMS plugin)
#   scripts/deps.sh test    GoogleTest, Node.js/npm (SDK tests), curl, openssl,
#                           jq (the KMIP walkthrough, docs/integrations/kmip.md),
#                           clang 14 with libFuzzer (tests/fuzz), PyKMIP (the
#                           KMIP client and golden vectors, /usr/bin/python3),
#                           Python grpcio and grpc_tools (the KMS plugin's tests),
#                           PostgreSQL 15 (the PostgreSQL store's tests),
#                           clevis, jose and cryptsetup (the Clevis pin's tests)
#   scripts/deps.sh bench   wrk and nginx-light (the comparison baseline),
#                           openssl and time (bench/envelope.sh: openssl enc,
#                           /usr/bin/time -v for the peak RSS)
#   scripts/deps.sh ha      Patroni and etcd (make test-ha: the failover test,
#                           scripts/ha-cluster.sh) with PostgreSQL 15
#   scripts/deps.sh all     everything above
#
# Several groups may be given. Nothing is downloaded when everything is
# installed (no apt-get update either). Needs root (or sudo) only when
# something is missing.
set -euo pipefail

BUILD_PKGS=(cmake ninja-build g++ ccache pkg-config
            libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
            libssl-dev libabsl-dev libsqlite3-dev libspdlog-dev libfmt-dev
            libcli11-dev libtomlplusplus-dev libp11-kit-dev libpq-dev
            libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc)
# clang is bookworm's clang 14; libclang-rt-14-dev holds libFuzzer
# (libclang_rt.fuzzer-x86_64.a) and the sanitizer runtimes.
# softhsm2: the PKCS#11 token the pkcs11 seal is tested against.
# postgresql-15: the throw-away server of the PostgreSQL store's tests
# (scripts/pg-test-cluster.sh runs its initdb/pg_ctl).
# clevis, clevis-luks, jose, cryptsetup-bin: the Clevis pin's tests run the
# real clevis and jose (tests/clevis), and bind a LUKS2 image file.
TEST_PKGS=(googletest libgtest-dev libgmock-dev nodejs npm curl openssl jq
           clang libclang-rt-14-dev python3-pykmip python3-grpcio
           python3-grpc-tools softhsm2 postgresql-15
           clevis clevis-luks jose cryptsetup-bin)
BENCH_PKGS=(wrk nginx-light openssl time)
# patroni pulls in its etcd client (python3-etcd); etcd-server is the one
# etcd member of scripts/ha-cluster.sh. The Debian packages' own services are
# not used (the script runs its own processes on random loopback ports).
HA_PKGS=(patroni etcd-server postgresql-15)

usage() { echo "usage: $0 build|test|bench|ha|all ..." >&2; exit 2; }
[[ $# -ge 1 ]] || usage

wanted=()
for group in "$@"; do
  case "$group" in
    build) wanted+=("${BUILD_PKGS[@]}") ;;
    test)  wanted+=("${TEST_PKGS[@]}") ;;
    bench) wanted+=("${BENCH_PKGS[@]}") ;;
    ha)    wanted+=("${HA_PKGS[@]}") ;;
    all)   wanted+=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${BENCH_PKGS[@]}" "${HA_PKGS[@]}") ;;
    *) usage ;;
  esac
done

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in "${wanted[@]}"; do
  if installed "$pkg"; then continue; fi
  # A Node.js build that bundles npm (e.g. the nodesource "nodejs" package)
  # conflicts with Debian's separate npm package: a working npm is enough.
  if [[ "$pkg" == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
  missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps.sh: all packages for '$*' are installed"
  exit 0
fi

echo "deps.sh: installing ${missing[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps.sh: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
