#!/usr/bin/env bash
# Throughput and latency of wrap and unwrap against a static nginx baseline.
#
# Builds the Release binary (make build), starts keywarden with one worker
# thread and a temp data dir, and nginx (nginx-light, worker_processes 1) that
# answers every POST with a fixed JSON body of the same size as a real wrap
# response. Creates one root key, then for each target in
#   nginx, keywarden-wrap, keywarden-unwrap
# runs wrk RUNS times (CONNECTIONS keep-alive connections, WRK_THREADS
# threads, DURATION each, POST bodies from bench/wrk-post.lua) and prints
# req/s, p50 and p99 per run, the medians, and keywarden/nginx ratios.
#
# Environment (defaults): RUNS=3 DURATION=10s CONNECTIONS=64 WRK_THREADS=2
#   KW_THREADS=1 ACCESS_LOG=off (on: keep keywarden's access log)
#   PIN=1 (default with 2+ CPUs): keywarden and nginx on the last CPU, wrk on the others
#   SKIP_BUILD=1 to use an existing build/keywarden; KEYWARDEN_BIN to pick another binary.
#   AUTH=jwt (default on servers with identity): the load runs as a user with
#     Reader on the instance, with a JWT from /identity/token, so every request
#     pays token and policy checks; AUTH=bootstrap uses the admin token.
#   BASELINE_BIN=path: a second build measured in the same interleaved rounds
#     (e.g. an earlier commit), with keywarden/baseline ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
KW_THREADS=${KW_THREADS:-1}
ACCESS_LOG=${ACCESS_LOG:-off}

command -v wrk >/dev/null || die "wrk missing: scripts/deps.sh bench"
command -v nginx >/dev/null || die "nginx missing: scripts/deps.sh bench"
[[ ${SKIP_BUILD:-0} == 1 ]] || make --no-print-directory build

kw_args=(--threads "$KW_THREADS")
[[ $ACCESS_LOG == on ]] || kw_args+=(--access-log=false)
start_keywarden "$BENCH_TMP/keywarden.log" "${kw_args[@]}"
echo "keywarden $KW_URL (pid $KW_PID, ${kw_args[*]}, $(threads_of "$KW_PID") OS threads)"
if [[ $PIN == 1 ]]; then
  echo "pinning: servers on CPU $((NCPU - 1)) (${SERVER_PIN[*]}), wrk on CPUs 0-$((NCPU - 2)) (PIN=0 disables)"
fi

setup_tenant
echo "instance $KW_INSTANCE; load authenticated as: $KW_AUTH_MODE"

# BASELINE_BIN: a second keywarden build (e.g. an earlier commit) measured in
# the same rounds, for "did this change cost throughput" questions.
BASELINE_URL=""
if [[ -n ${BASELINE_BIN:-} ]]; then
  main=($KW_PID "$KW_URL" "$KW_INSTANCE" "$KW_LOAD_TOKEN" "$KW_AUTH_MODE")
  KEYWARDEN_BIN=$BASELINE_BIN BENCH_DATA=baseline start_keywarden "$BENCH_TMP/baseline.log" "${kw_args[@]}"
  setup_tenant
  BASELINE_URL=$KW_URL BASELINE_INSTANCE=$KW_INSTANCE BASELINE_TOKEN=$KW_LOAD_TOKEN BASELINE_PID=$KW_PID
  BASELINE_KEY=$(create_root_key)
  BASELINE_WDEK=$(kw_curl POST "/api/v2/keys/$BASELINE_KEY/actions/wrap" "{\"plaintext\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}" \
                  | grep -o '"ciphertext":"[^"]*"' | cut -d'"' -f4)
  [[ -n $BASELINE_WDEK ]] || die "baseline wrap failed"
  echo "baseline $BASELINE_URL ($BASELINE_BIN), auth $KW_AUTH_MODE"
  KW_PID=${main[0]} KW_URL=${main[1]} KW_INSTANCE=${main[2]} KW_LOAD_TOKEN=${main[3]} KW_AUTH_MODE=${main[4]}
fi

KEY_ID=$(create_root_key)
[[ -n $KEY_ID ]] || die "could not create a root key: $(tail -5 "$BENCH_TMP/keywarden.log")"
DEK=$(head -c 32 /dev/urandom | base64 -w0)
WRAP_BODY="{\"plaintext\":\"$DEK\"}"
WRAP_RESPONSE=$(kw_curl POST "/api/v2/keys/$KEY_ID/actions/wrap" "$WRAP_BODY")
WDEK=$(printf '%s' "$WRAP_RESPONSE" | grep -o '"ciphertext":"[^"]*"' | cut -d'"' -f4)
[[ -n $WDEK ]] || die "wrap failed: $WRAP_RESPONSE"
UNWRAP_BODY="{\"ciphertext\":\"$WDEK\"}"
kw_curl POST "/api/v2/keys/$KEY_ID/actions/unwrap" "$UNWRAP_BODY" | grep -q "\"plaintext\":\"$DEK\"" \
  || die "unwrap check failed"
echo "root key $KEY_ID; wrap response body ${#WRAP_RESPONSE} bytes"

# nginx serves a real wrap response verbatim, so both sides send the same bytes.
NGINX_PORT=$(free_port)
mkdir -p "$BENCH_TMP/nginx"
shopt -u patsub_replacement 2>/dev/null || true
conf=$(<bench/nginx.conf)
conf=${conf//@PREFIX@/$BENCH_TMP/nginx}
conf=${conf//@PORT@/$NGINX_PORT}
conf=${conf//@BODY@/$WRAP_RESPONSE}
printf '%s\n' "$conf" >"$BENCH_TMP/nginx/nginx.conf"
${SERVER_PIN[@]+"${SERVER_PIN[@]}"} nginx -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/nginx.conf" &
BENCH_PIDS+=("$!")
for _ in $(seq 1 100); do
  curl -sf -X POST "http://127.0.0.1:$NGINX_PORT/" -o /dev/null && break
  sleep 0.1
done
[[ $(curl -s -X POST -d '{}' "http://127.0.0.1:$NGINX_PORT/") == "$WRAP_RESPONSE" ]] || die "nginx is not serving the body"
echo "nginx http://127.0.0.1:$NGINX_PORT (worker_processes 1)"
echo "wrk: $CONNECTIONS connections, $WRK_THREADS threads, $DURATION x $RUNS runs, keep-alive"
echo

declare -A RPS P50 P99 RATIO URL BODY TOKEN INSTANCE PID CPU
TARGETS=(nginx keywarden-wrap keywarden-unwrap)
URL[nginx]="http://127.0.0.1:$NGINX_PORT/"; BODY[nginx]=$WRAP_BODY
URL[keywarden-wrap]="$KW_URL/api/v2/keys/$KEY_ID/actions/wrap"; BODY[keywarden-wrap]=$WRAP_BODY
URL[keywarden-unwrap]="$KW_URL/api/v2/keys/$KEY_ID/actions/unwrap"; BODY[keywarden-unwrap]=$UNWRAP_BODY
for t in nginx keywarden-wrap keywarden-unwrap; do TOKEN[$t]=$KW_LOAD_TOKEN; INSTANCE[$t]=$KW_INSTANCE; done
PID[nginx]=$(pgrep -f "nginx: worker process" | head -1 || true)
PID[keywarden-wrap]=$KW_PID; PID[keywarden-unwrap]=$KW_PID
if [[ -n $BASELINE_URL ]]; then
  TARGETS+=(baseline-wrap baseline-unwrap)
  URL[baseline-wrap]="$BASELINE_URL/api/v2/keys/$BASELINE_KEY/actions/wrap"; BODY[baseline-wrap]=$WRAP_BODY
  URL[baseline-unwrap]="$BASELINE_URL/api/v2/keys/$BASELINE_KEY/actions/unwrap"
  BODY[baseline-unwrap]="{\"ciphertext\":\"$BASELINE_WDEK\"}"
  for t in baseline-wrap baseline-unwrap; do
    TOKEN[$t]=$BASELINE_TOKEN; INSTANCE[$t]=$BASELINE_INSTANCE; PID[$t]=$BASELINE_PID
  done
fi

# Besides throughput, each run reports the server's CPU time per request
# (from /proc/PID/stat): unlike req/s it hardly moves when a neighbour
# steals cycles, so it is the figure to compare two builds by.
run_once() {  # name round
  local name=$1 i=$2 out line rps p50 p99 non2xx sockerr requests cpu0 cpu1 cpu_req="-"
  local pid=${PID[$name]:-}
  [[ -n $pid ]] && cpu0=$(cpu_us "$pid")
  out=$(KW_BODY=${BODY[$name]} KW_TOKEN=${TOKEN[$name]} KW_INSTANCE=${INSTANCE[$name]} \
        ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$DURATION" \
        -s bench/wrk-post.lua "${URL[$name]}")
  line=$(grep '^KWSTATS' <<<"$out") || die "no KWSTATS from wrk: $out"
  rps=$(sed 's/.* rps=\([^ ]*\).*/\1/' <<<"$line")
  p50=$(sed 's/.* p50_ms=\([^ ]*\).*/\1/' <<<"$line")
  p99=$(sed 's/.* p99_ms=\([^ ]*\).*/\1/' <<<"$line")
  non2xx=$(sed 's/.* non2xx=\([^ ]*\).*/\1/' <<<"$line")
  sockerr=$(sed 's/.* socket_errors=\([^ ]*\).*/\1/' <<<"$line")
  requests=$(sed 's/.* requests=\([^ ]*\).*/\1/' <<<"$line")
  if [[ -n $pid ]]; then
    cpu1=$(cpu_us "$pid")
    cpu_req=$(awk -v c=$((cpu1 - cpu0)) -v n="$requests" 'BEGIN {printf "%.2f", c / n}')
    CPU[$name]+="$cpu_req "
  fi
  printf '%-18s run %d  %10s req/s  p50 %8s ms  p99 %8s ms  cpu %6s us/req  non-2xx %s  socket errors %s\n' \
    "$name" "$i" "$rps" "$p50" "$p99" "$cpu_req" "$non2xx" "$sockerr"
  [[ $non2xx == 0 ]] || echo "  WARNING: $non2xx non-2xx responses: this run does not measure $name" >&2
  RPS[$name]+="$rps "; P50[$name]+="$p50 "; P99[$name]+="$p99 "
  LAST_RPS=$rps
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# Rounds interleave the targets, so a noisy neighbour hits all of them alike;
# each round's ratio is taken against that round's nginx run, and the
# reported ratio is the median of the per-round ratios.
for i in $(seq 1 "$RUNS"); do
  for t in "${TARGETS[@]}"; do
    run_once "$t" "$i"
    if [[ $t == nginx ]]; then
      round_nginx=$LAST_RPS
    else
      RATIO[$t]+="$(awk -v k="$LAST_RPS" -v n="$round_nginx" 'BEGIN {printf "%.3f", k / n}') "
    fi
  done
  kill -0 "$KW_PID" 2>/dev/null || die "keywarden died during round $i"
done

echo
echo "median of $RUNS runs (auth: $KW_AUTH_MODE${BASELINE_URL:+; baseline: $BASELINE_BIN}):"
for t in "${TARGETS[@]}"; do
  printf '  %-18s %10s req/s  p50 %8s ms  p99 %8s ms  cpu %6s us/req\n' "$t" "$(median "${RPS[$t]}")" \
    "$(median "${P50[$t]}")" "$(median "${P99[$t]}")" "$(median "${CPU[$t]:-}")"
done
for t in "${TARGETS[@]}"; do
  [[ $t == nginx ]] && continue
  printf '  ratio %-18s / nginx = %s (median of per-round ratios: %s)\n' "$t" "$(median "${RATIO[$t]}")" "${RATIO[$t]% }"
done
if [[ -n $BASELINE_URL ]]; then
  for op in wrap unwrap; do
    awk -v a="$(median "${RATIO[keywarden-$op]}")" -v b="$(median "${RATIO[baseline-$op]}")" \
        -v ca="$(median "${CPU[keywarden-$op]}")" -v cb="$(median "${CPU[baseline-$op]}")" -v op="$op" \
      'BEGIN {printf "  %s: keywarden / baseline throughput ratio = %.3f (%+.1f%%); CPU per request %.2f vs %.2f us (%+.1f%%)\n", op, a / b, (a / b - 1) * 100, ca, cb, (ca / cb - 1) * 100}'
  done
fi
echo "  keywarden RSS after the runs: $(rss_kib "$KW_PID") KiB (peak $(hwm_kib "$KW_PID") KiB)"
