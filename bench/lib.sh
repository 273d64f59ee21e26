# Shared helpers for bench/*.sh (sourced, not run).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KEYWARDEN_BIN=${KEYWARDEN_BIN:-$REPO/build/keywarden}
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/keywarden-bench.XXXXXX")
BENCH_PIDS=()

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }

# A TCP port on 127.0.0.1 that nothing listens on (bash /dev/tcp probe).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

# start_keywarden LOGFILE ARGS... : starts the server on 127.0.0.1:0 with a
# fresh data dir; sets KW_PID and KW_URL (parsed from its "listening on" line).
start_keywarden() {
  local log=$1; shift
  [[ -x $KEYWARDEN_BIN ]] || die "no binary at $KEYWARDEN_BIN (make build)"
  mkdir -p "$BENCH_TMP/data"
  KEYWARDEN_ADMIN_TOKEN=$KW_TOKEN ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$KEYWARDEN_BIN" server --data-dir "$BENCH_TMP/data" \
      --listen 127.0.0.1:0 "$@" >"$log.stdout" 2>"$log" &
  KW_PID=$!
  BENCH_PIDS+=("$KW_PID")
  KW_URL=""
  for _ in $(seq 1 300); do
    KW_URL=$(grep -o 'listening on http://[0-9.:]*' "$log" 2>/dev/null | head -1 | sed 's/listening on //' || true)
    [[ -n $KW_URL ]] && return 0
    kill -0 "$KW_PID" 2>/dev/null || { cat "$log" >&2; die "keywarden exited during start"; }
    sleep 0.1
  done
  cat "$log" >&2
  die "keywarden did not report 'listening on' within 30 s"
}

kw_curl() {  # kw_curl METHOD PATH [BODY]
  local args=(-sS -X "$1" "$KW_URL$2" -H "Authorization: Bearer $KW_TOKEN" -H "Bluemix-Instance: $KW_INSTANCE")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}"
}

create_root_key() {  # prints the new key's id
  local body='{"metadata":{"collectionType":"application/vnd.ibm.kms.key+json","collectionTotal":1},"resources":[{"type":"application/vnd.ibm.kms.key+json","name":"bench-root","extractable":false}]}'
  kw_curl POST /api/v2/keys "$body" | grep -o '"id":"[0-9a-f-]\{36\}"' | head -1 | cut -d'"' -f4
}

threads_of() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

KW_TOKEN=${KW_TOKEN:-bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
KW_INSTANCE=${KW_INSTANCE:-$(cat /proc/sys/kernel/random/uuid)}

# CPU pinning (PIN=1, the default on machines with 2+ CPUs and taskset): the
# servers share the last CPU, the load generator gets the others, so that
# keywarden and nginx each get exactly one core whatever threads they spawn.
SERVER_PIN=()
CLIENT_PIN=()
NCPU=$(nproc)
PIN=${PIN:-$([[ $NCPU -ge 2 ]] && command -v taskset >/dev/null && echo 1 || echo 0)}
if [[ $PIN == 1 ]]; then
  SERVER_PIN=(taskset -c $((NCPU - 1)))
  CLIENT_PIN=(taskset -c "0-$((NCPU - 2))")
fi
