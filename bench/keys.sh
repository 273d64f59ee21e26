#!/usr/bin/env bash
# Time to create KEYS root keys (default 100,000) with CONCURRENCY concurrent
# keep-alive clients (default 32), and the server's resident memory before and
# after (VmRSS and peak VmHWM from /proc/PID/status).
#
# Environment: KEYS=100000 CONCURRENCY=32 KW_THREADS (default: the server's
#   default) ACCESS_LOG=off SKIP_BUILD=1 KEYWARDEN_BIN=...
# Needs node (scripts/deps.sh test) for the client driver bench/create-keys.js.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

KEYS=${KEYS:-100000}
CONCURRENCY=${CONCURRENCY:-32}
ACCESS_LOG=${ACCESS_LOG:-off}

command -v node >/dev/null || die "node missing: scripts/deps.sh test"
[[ ${SKIP_BUILD:-0} == 1 ]] || make --no-print-directory build

kw_args=()
[[ -z ${KW_THREADS:-} ]] || kw_args+=(--threads "$KW_THREADS")
[[ $ACCESS_LOG == on ]] || kw_args+=(--access-log=false)
start_keywarden "$BENCH_TMP/keywarden.log" "${kw_args[@]}"
AUTH=bootstrap setup_tenant
echo "keywarden $KW_URL (pid $KW_PID${kw_args[*]:+, ${kw_args[*]}})"
rss0=$(rss_kib "$KW_PID")
echo "RSS before: $rss0 KiB"
echo "creating $KEYS root keys with $CONCURRENCY concurrent connections..."

out=$(node bench/create-keys.js "$KW_URL" "$KW_TOKEN" "$KW_INSTANCE" "$KEYS" "$CONCURRENCY")
echo "$out"
total=$(curl -sS -I "$KW_URL/api/v2/keys" -H "Authorization: Bearer $KW_TOKEN" \
        -H "Bluemix-Instance: $KW_INSTANCE" | tr -d '\r' | awk -F': ' 'tolower($1)=="key-total" {print $2}')
rss1=$(rss_kib "$KW_PID")
hwm=$(hwm_kib "$KW_PID")
echo "Key-Total after: ${total:-?}"
echo "RSS after: $rss1 KiB ($((rss1 / 1024)) MiB), peak $hwm KiB ($((hwm / 1024)) MiB)"
echo "data dir size: $(du -sk "$BENCH_TMP/data" | cut -f1) KiB"
