#!/usr/bin/env bash
# Key creation per second on SQLite against PostgreSQL, in the same run:
# RUNS rounds (default 3), each creating KEYS root keys (default 5000) with
# CONCURRENCY concurrent keep-alive clients (default 32, bench/create-keys.js)
# on a fresh SQLite server and on a fresh PostgreSQL database, alternately.
# Prints each run, the median keys/s per store and postgres/sqlite.
#
# Both are durable: SQLite in WAL mode with synchronous=FULL, PostgreSQL 15
# (scripts/pg-test-cluster.sh) with fsync and synchronous_commit on (the
# store refuses anything less). Both live on the same file system, TMPDIR's
# (default /tmp), so both pay the same fsync; PostgreSQL runs on this machine,
# over loopback TCP. Nothing is pinned (PIN is ignored): keywarden,
# PostgreSQL and the client share every CPU.
#
# Environment: KEYS=5000 CONCURRENCY=32 RUNS=3 SKIP_BUILD=1 KEYWARDEN_BIN=...
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

KEYS=${KEYS:-5000}
CONCURRENCY=${CONCURRENCY:-32}
RUNS=${RUNS:-3}
SERVER_PIN=()  # read by start_keywarden (bench/lib.sh)

command -v node >/dev/null || die "node missing: scripts/deps.sh test"
command -v psql >/dev/null || die "psql missing: scripts/deps.sh test"
[[ ${SKIP_BUILD:-0} == 1 ]] || make --no-print-directory build

# A local cluster on the bench's file system, whatever the environment says.
unset KEYWARDEN_TEST_PG_URL
PG_STATE="$BENCH_TMP/pg-state"
trap 'scripts/pg-test-cluster.sh stop "$PG_STATE"; bench_cleanup' EXIT
PG_TEST_BASE=$(dirname "$BENCH_TMP") scripts/pg-test-cluster.sh start "$PG_STATE"
[[ -s $PG_STATE/url ]] || die "no PostgreSQL (scripts/deps.sh test)"
PG_SERVER=$(cat "$PG_STATE/url")

# run_one STORE RUN: writes the create-keys.js summary line to
# $BENCH_TMP/line (not through $(...): the server must be started by this
# shell, so that bench_cleanup stops it on an interrupt).
run_one() {
  local store=$1 run=$2 args=(--access-log=false)
  if [[ $store == postgres ]]; then
    local db="kw_bench_$run"
    psql "$PG_SERVER" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE $db" >/dev/null
    args+=(--database "${PG_SERVER%/*}/$db")
  fi
  BENCH_DATA="data-$store-$run" start_keywarden "$BENCH_TMP/keywarden-$store-$run.log" "${args[@]}"
  AUTH=bootstrap setup_tenant
  node bench/create-keys.js "$KW_URL" "$KW_TOKEN" "$KW_INSTANCE" "$KEYS" "$CONCURRENCY" \
    >"$BENCH_TMP/line" 2>/dev/null
  kill -TERM "$KW_PID"
  wait "$KW_PID" 2>/dev/null || true
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A rates
echo "creating $KEYS root keys with $CONCURRENCY clients, $RUNS runs per store, alternating"
for run in $(seq 1 "$RUNS"); do
  for store in sqlite postgres; do
    run_one "$store" "$run"
    line=$(cat "$BENCH_TMP/line")
    echo "run $run $store: $line"
    rate=$(grep -o 'rate=[0-9.]*' <<<"$line" | cut -d= -f2)
    [[ -n $rate ]] || die "no rate in: $line"
    rates[$store]+="$rate "
  done
done
sq=$(tr ' ' '\n' <<<"${rates[sqlite]}" | grep . | median)
pg=$(tr ' ' '\n' <<<"${rates[postgres]}" | grep . | median)
echo "median keys/s: sqlite $sq (${rates[sqlite]% }), postgres $pg (${rates[postgres]% })"
awk -v a="$pg" -v b="$sq" 'BEGIN {printf "postgres/sqlite: %.2f\n", a / b}'
