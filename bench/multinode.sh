#!/usr/bin/env bash
# Wrap throughput of 2 keywarden nodes against 1, on one PostgreSQL
# (docs/operations.md "Many nodes").
#
# Starts a throw-away PostgreSQL 15 (scripts/pg-test-cluster.sh), node A on
# a fresh database and node B on the same database with A's master key
# copied, each with KW_THREADS worker threads. Creates one root key and a
# Reader with a JWT (bench/lib.sh setup_tenant), then runs RUNS interleaved
# rounds of:
#   one-node   wrk with CONNECTIONS connections against A
#   two-nodes  two wrk at once, CONNECTIONS/2 connections each, one per node
# and prints req/s per run, the medians and the median of the per-round
# two-nodes / one-node ratios. Wrap touches no database (the key cache), so
# the ratio shows what a second node adds when CPU is what limits; on a
# machine with fewer cores than nodes + load generators it cannot be 2
# (the script prints the core count and the CPU each process used).
#
# Environment (defaults): RUNS=3 DURATION=10s CONNECTIONS=64 WRK_THREADS=1
#   KW_THREADS=1 SKIP_BUILD=1 to use an existing build/keywarden.
set -euo pipefail
cd "$(dirname "$0")/.."
PIN=0  # no pinning: the nodes and the load generators share every core
source bench/lib.sh

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-1}
KW_THREADS=${KW_THREADS:-1}

command -v wrk >/dev/null || die "wrk missing: scripts/deps.sh bench"
command -v psql >/dev/null || die "psql missing: scripts/deps.sh test"
[[ ${SKIP_BUILD:-0} == 1 ]] || make --no-print-directory build

# Outside BENCH_TMP, which bench_cleanup removes: the cluster is stopped
# after the nodes, from its state dir.
PG_STATE=$(mktemp -d "${TMPDIR:-/tmp}/keywarden-bench-pg.XXXXXX")
stop_pg() { scripts/pg-test-cluster.sh stop "$PG_STATE" >/dev/null 2>&1 || true; rm -rf "$PG_STATE"; }
trap 'bench_cleanup; stop_pg' EXIT
scripts/pg-test-cluster.sh start "$PG_STATE" >/dev/null
[[ -s $PG_STATE/url ]] || die "no PostgreSQL 15 (scripts/deps.sh test)"
server=$(cat "$PG_STATE/url")
db="kw_bench_$$"
psql "$server" -qAtc "CREATE DATABASE $db"
url=${server%/*}/$db

kw_args=(--threads "$KW_THREADS" --access-log=false --database "$url")
KEYWARDEN_NODE_ID=a BENCH_DATA=a start_keywarden "$BENCH_TMP/a.log" "${kw_args[@]}"
A_PID=$KW_PID A_URL=$KW_URL
setup_tenant
mkdir -p -m 700 "$BENCH_TMP/b"
cp "$BENCH_TMP/a/master.key" "$BENCH_TMP/b/master.key"
chmod 600 "$BENCH_TMP/b/master.key"
KEYWARDEN_NODE_ID=b BENCH_DATA=b start_keywarden "$BENCH_TMP/b.log" "${kw_args[@]}"
B_PID=$KW_PID B_URL=$KW_URL
KW_URL=$A_URL
KEY_ID=$(create_root_key)
[[ -n $KEY_ID ]] || die "could not create a root key: $(tail -5 "$BENCH_TMP/a.log")"
WRAP_BODY="{\"plaintext\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}"
for u in "$A_URL" "$B_URL"; do
  KW_URL=$u kw_curl POST "/api/v2/keys/$KEY_ID/actions/wrap" "$WRAP_BODY" | grep -q ciphertext \
    || die "wrap on $u failed"
done
echo "nodes: A $A_URL (pid $A_PID), B $B_URL (pid $B_PID), $KW_THREADS thread(s) each; $(nproc) cores"
echo "PostgreSQL 15 (throw-away); root key $KEY_ID; auth $KW_AUTH_MODE"
echo "wrk: $CONNECTIONS connections in all, $WRK_THREADS thread(s) per wrk, $DURATION x $RUNS rounds"
echo

wrk_rps() {  # URL CONNECTIONS -> req/s (fails on non-2xx)
  local out line
  out=$(KW_BODY=$WRAP_BODY KW_TOKEN=$KW_LOAD_TOKEN KW_INSTANCE=$KW_INSTANCE \
        wrk -t "$WRK_THREADS" -c "$2" -d "$DURATION" -s bench/wrk-post.lua \
        "$1/api/v2/keys/$KEY_ID/actions/wrap")
  line=$(grep '^KWSTATS' <<<"$out") || die "no KWSTATS from wrk: $out"
  [[ $(sed 's/.* non2xx=\([^ ]*\).*/\1/' <<<"$line") == 0 ]] || die "non-2xx answers: $line"
  sed 's/.* rps=\([^ ]*\).*/\1/' <<<"$line"
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

ONE="" TWO="" RATIO=""
half=$((CONNECTIONS / 2))
for i in $(seq 1 "$RUNS"); do
  a0=$(cpu_us "$A_PID")
  one=$(wrk_rps "$A_URL" "$CONNECTIONS")
  a1=$(cpu_us "$A_PID")
  printf 'one-node   round %d  %10s req/s  (A cpu %.1f s)\n' "$i" "$one" "$(awk -v c=$((a1 - a0)) 'BEGIN {print c / 1e6}')"
  a0=$(cpu_us "$A_PID"); b0=$(cpu_us "$B_PID")
  wrk_rps "$A_URL" "$half" >"$BENCH_TMP/ra" &
  ja=$!
  wrk_rps "$B_URL" "$half" >"$BENCH_TMP/rb" &
  jb=$!
  wait "$ja" "$jb"
  a1=$(cpu_us "$A_PID"); b1=$(cpu_us "$B_PID")
  ra=$(cat "$BENCH_TMP/ra"); rb=$(cat "$BENCH_TMP/rb")
  two=$(awk -v a="$ra" -v b="$rb" 'BEGIN {printf "%.1f", a + b}')
  printf 'two-nodes  round %d  %10s req/s  (A %s + B %s; cpu A %.1f s, B %.1f s)\n' "$i" "$two" "$ra" "$rb" \
    "$(awk -v c=$((a1 - a0)) 'BEGIN {print c / 1e6}')" "$(awk -v c=$((b1 - b0)) 'BEGIN {print c / 1e6}')"
  ONE+="$one "; TWO+="$two "
  RATIO+="$(awk -v t="$two" -v o="$one" 'BEGIN {printf "%.3f", t / o}') "
done
echo
echo "median of $RUNS rounds: one node $(median "$ONE") req/s, two nodes $(median "$TWO") req/s"
echo "two-nodes / one-node = $(median "$RATIO") (median of per-round ratios: ${RATIO% })"
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
