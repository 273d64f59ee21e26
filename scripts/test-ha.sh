#!/usr/bin/env bash
# make test-ha: the failover test (tests/ha). Starts a throw-away Patroni
# cluster (scripts/ha-cluster.sh: etcd + three PostgreSQL 15 members in
# synchronous mode, all on loopback), runs tests/ha/failover.test.js against
# it RUNS times (default 1; a fresh cluster each time), and removes it.
#
# Not part of make test: it needs patroni and etcd-server (scripts/deps.sh ha)
# and takes 2 to 3 minutes per run on two cores, mostly Patroni bootstrapping
# three members and waiting out the dead leader's key (ttl).
#
# KEYWARDEN_BIN: the binary under test (make test-ha: build/keywarden;
# run directly: build-asan/keywarden if it exists, else build/keywarden).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

RUNS=${RUNS:-1}
if [[ -z ${KEYWARDEN_BIN:-} ]]; then
  KEYWARDEN_BIN=$PWD/build-asan/keywarden
  [[ -x $KEYWARDEN_BIN ]] || KEYWARDEN_BIN=$PWD/build/keywarden
fi
export KEYWARDEN_BIN
[[ -x $KEYWARDEN_BIN ]] || { echo "test-ha: no binary at $KEYWARDEN_BIN (make build)" >&2; exit 1; }
if [[ ! -d tests/node_modules ]]; then
  (cd tests && npm ci --no-audit --no-fund) || exit 1
fi

STATE=$(mktemp -d /tmp/kw-ha-state-XXXXXX)
trap 'scripts/ha-cluster.sh stop "$STATE"; rm -rf "$STATE"' EXIT
export KEYWARDEN_TEST_HA_STATE=$STATE KEYWARDEN_TEST_HA_REQUIRED=1

failed=0
results=()
for run in $(seq 1 "$RUNS"); do
  echo "==> run $run/$RUNS: HA cluster"
  scripts/ha-cluster.sh stop "$STATE"
  if ! scripts/ha-cluster.sh start "$STATE"; then
    failed=$((failed + 1))
    continue
  fi
  echo "==> run $run/$RUNS: node --test tests/ha (KEYWARDEN_BIN=$KEYWARDEN_BIN)"
  out=$(cd tests && node --test ha/ 2>&1)
  rc=$?
  echo "$out"
  line=$(grep -o 'KWHA .*' <<<"$out" | head -1)
  results+=("run $run: ${line:-no figures} (exit $rc)")
  [[ $rc -eq 0 ]] || failed=$((failed + 1))
done

echo
printf '%s\n' "${results[@]}"
if [[ $failed -gt 0 ]]; then
  echo "make test-ha: FAILED ($failed of $RUNS runs)" >&2
  exit 1
fi
echo "make test-ha: $RUNS run(s) passed"
