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
  local data="$BENCH_TMP/${BENCH_DATA:-data}"
  mkdir -p -m 700 "$data"  # the server refuses a data dir others can reach
  KEYWARDEN_ADMIN_TOKEN=$KW_TOKEN ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$KEYWARDEN_BIN" server --data-dir "$data" \
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

# setup_tenant: creates the instance the benchmark uses through the admin API
# (servers with identity); older servers take any UUID. With AUTH=jwt (the
# default when the server has identity) it also creates a user holding
# Reader on the instance, an API key and a token, and sets KW_LOAD_TOKEN to
# that JWT, so every measured request pays token verification and a policy
# check; setup calls keep using the bootstrap token.
setup_tenant() {
  KW_LOAD_TOKEN=$KW_TOKEN
  local out
  out=$(curl -s -w '\n%{http_code}' -X POST "$KW_URL/admin/v1/instances" \
        -H "Authorization: Bearer $KW_TOKEN" -d '{"name":"bench"}')
  if [[ ${out##*$'\n'} != 201 ]]; then
    KW_AUTH_MODE=bootstrap  # a server without identity: any UUID is a tenant
    return 0
  fi
  KW_INSTANCE=$(grep -o '"id":"[0-9a-f-]\{36\}"' <<<"$out" | head -1 | cut -d'"' -f4)
  KW_AUTH_MODE=${AUTH:-jwt}
  [[ $KW_AUTH_MODE == jwt ]] || return 0
  local admin=(-s -H "Authorization: Bearer $KW_TOKEN")
  local user key apikey
  user=$(curl "${admin[@]}" -X POST "$KW_URL/admin/v1/users" -d '{"name":"bench-reader"}' \
         | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
  curl "${admin[@]}" -o /dev/null -X POST "$KW_URL/admin/v1/policies" \
       -d "{\"principalId\":\"$user\",\"instanceId\":\"$KW_INSTANCE\",\"roles\":[\"Reader\"]}"
  apikey=$(curl "${admin[@]}" -X POST "$KW_URL/admin/v1/api_keys" \
           -d "{\"principalId\":\"$user\",\"name\":\"bench\"}" | grep -o '"apikey":"[^"]*"' | cut -d'"' -f4)
  KW_LOAD_TOKEN=$(curl -s -X POST "$KW_URL/identity/token" \
      --data-urlencode 'grant_type=urn:ibm:params:oauth:grant-type:apikey' \
      --data-urlencode "apikey=$apikey" | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
  [[ -n $KW_LOAD_TOKEN ]] || die "could not obtain a token for the benchmark user"
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

# CPU time (user + system) a process has used, in microseconds.
cpu_us() {
  awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000000 / hz)}' "/proc/$1/stat"
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
