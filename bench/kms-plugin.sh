#!/usr/bin/env bash
# The Kubernetes KMS v2 plugin against the REST calls it makes, in one run:
# Encrypt vs wrap and Decrypt vs unwrap, throughput and p50/p99, at the same
# client concurrency (bench/kms_plugin_bench.cc).
#
# Builds the Release binaries (build/keywarden, build/kms_plugin_bench),
# starts keywarden (temp data dir, access log off) and creates an instance, a
# root key and a service id of type kubernetes with an API key and Reader
# authorization, as docs/integrations/kubernetes.md does; then starts
# `keywarden kms-plugin` on a socket in the temp dir and runs the bench.
# Target (issue 11 §1): the plugin reaches at least 0.5x the REST rate with
# p99 under 5 ms.
#
# Each line also gives the CPU time per operation of the bench, the plugin
# and the server: on a shared machine that, not the wall clock, is what the
# rates follow.
#
# Environment (defaults): THREADS=8 SECONDS_PER=5 KW_THREADS=1
#   PLUGIN_ARGS: extra flags for `keywarden kms-plugin` (word-split).
#   PIN=1 (default with 2+ CPUs): server and plugin on the last CPU, the bench
#   on the others. SKIP_BUILD=1 uses the existing build/.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

THREADS=${THREADS:-8}
SECONDS_PER=${SECONDS_PER:-5}
KW_THREADS=${KW_THREADS:-1}
BENCH_BIN=${BENCH_BIN:-$REPO/build/kms_plugin_bench}

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  make --no-print-directory build
  ninja -C build -j "${JOBS:-2}" kms_plugin_bench
fi

start_keywarden "$BENCH_TMP/keywarden.log" --threads "$KW_THREADS" --access-log=false
echo "keywarden $KW_URL (pid $KW_PID, --threads $KW_THREADS)"
setup_tenant  # the instance (KW_INSTANCE)
admin=(-s -H "Authorization: Bearer $KW_TOKEN")
sid=$(curl "${admin[@]}" -X POST "$KW_URL/admin/v1/service_ids" \
        -d '{"name":"bench-cluster","serviceType":"kubernetes"}' | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
apikey=$(curl "${admin[@]}" -X POST "$KW_URL/admin/v1/api_keys" \
           -d "{\"principalId\":\"$sid\",\"name\":\"plugin\"}" | grep -o '"apikey":"[^"]*"' | cut -d'"' -f4)
curl "${admin[@]}" -o /dev/null -X POST "$KW_URL/admin/v1/authorizations" \
     -d "{\"sourceServiceId\":\"$sid\",\"instanceId\":\"$KW_INSTANCE\",\"role\":\"Reader\"}"
key=$(create_root_key)
[[ -n $key && -n $apikey ]] || die "tenant setup failed"

sock="$BENCH_TMP/kms.sock"
KEYWARDEN_APIKEY=$apikey ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$KEYWARDEN_BIN" kms-plugin \
    --listen "unix://$sock" --addr "$KW_URL" --instance "$KW_INSTANCE" --key "$key" \
    ${PLUGIN_ARGS:-} 2>"$BENCH_TMP/plugin.log" &
PLUGIN_PID=$!
BENCH_PIDS+=("$PLUGIN_PID")
for _ in $(seq 1 100); do
  grep -q 'listening on' "$BENCH_TMP/plugin.log" 2>/dev/null && break
  sleep 0.1
done
grep -q 'listening on' "$BENCH_TMP/plugin.log" || { cat "$BENCH_TMP/plugin.log" >&2; die "plugin did not start"; }
[[ $PIN == 1 ]] && echo "pinning: keywarden and plugin on CPU $((NCPU - 1)), bench on CPUs 0-$((NCPU - 2))"

KEYWARDEN_APIKEY=$apikey ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "$BENCH_BIN" \
    --socket "$sock" --addr "$KW_URL" --instance "$KW_INSTANCE" --key "$key" \
    --threads "$THREADS" --seconds "$SECONDS_PER" \
    --server-pid "$KW_PID" --plugin-pid "$PLUGIN_PID"
