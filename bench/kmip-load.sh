#!/usr/bin/env bash
# KMIP Encrypt throughput and latency of keywarden on ONE KMIP I/O thread
# (issue 12 "Bench": target >= 50k Encrypt/s, p99 < 2 ms), with the C++
# load generator bench/kmip_load.cc.
#
# Builds the Release binaries (build/keywarden, build/kmip_load), makes a
# server and a client certificate (EC P-256, openssl) in a temp dir, starts
# keywarden (temp data dir, access log off, --kmip-threads KMIP_THREADS),
# sets up over REST an instance, a root key, a KMIP adapter and the client
# certificate (keyprotect-api.md §13), creates and activates an AES-256 key
# over KMIP with PyKMIP's client (bench/kmip_encrypt_load.py), then runs
# kmip_load RUNS times: CONNECTIONS persistent TLS connections sending the
# same Encrypt (32 bytes, AES-256-GCM, 16-byte tag, IV chosen by the server)
# back to back for SECONDS_PER seconds after WARMUP seconds. Prints each run
# (ops/s, p50/p99/max latency, failures, server and client CPU time per
# operation from /proc/PID/stat) and the medians.
#
# Environment (defaults): RUNS=3 SECONDS_PER=10 WARMUP=1 CONNECTIONS=8
#   LOAD_THREADS=1 (generator threads) KMIP_THREADS=1 KMIP_VERSION=1.4
#   PIN=1 (default with 2+ CPUs): keywarden on the last CPU, the generator
#   on the others. SKIP_BUILD=1 uses the existing build/.
#   PROFILE=perf|strace: during run 1, `perf record -g` the server (report
#   in PROFILE_OUT, default $TMPDIR/kmip-load.perf.txt) or count its system calls
#   with `strace -c -f` (summary in PROFILE_OUT, default $TMPDIR/kmip-load.strace.txt);
#   PERF_REPORT_ARGS (default --no-children) is passed to `perf report`.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

RUNS=${RUNS:-3}
SECONDS_PER=${SECONDS_PER:-10}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-8}
LOAD_THREADS=${LOAD_THREADS:-1}
KMIP_THREADS=${KMIP_THREADS:-1}
KMIP_VERSION=${KMIP_VERSION:-1.4}
LOAD_BIN=${LOAD_BIN:-$REPO/build/kmip_load}
PYTHON=/usr/bin/python3  # Debian's python3-pykmip

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  make --no-print-directory build
  ninja -C build -j "${JOBS:-2}" kmip_load
fi
[[ -x $LOAD_BIN ]] || die "no load generator at $LOAD_BIN"
"$PYTHON" -c 'import kmip' 2>/dev/null || die "PyKMIP missing: scripts/deps.sh test"

# bench_certs DIR: a server certificate (CN localhost) and a client
# certificate (CN bench-client, extendedKeyUsage clientAuth, which PyKMIP's
# server also demands), self-signed EC P-256, keys 0600.
bench_certs() {
  local d=$1 name cn
  for name in server client; do
    cn=$([[ $name == server ]] && echo localhost || echo bench-client)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj "/CN=$cn" -addext "extendedKeyUsage=$([[ $name == server ]] && echo serverAuth || echo clientAuth)" \
        -keyout "$d/$name.key" -out "$d/$name.pem" 2>/dev/null || die "openssl failed"
    chmod 600 "$d/$name.key"
  done
}
bench_certs "$BENCH_TMP"

start_keywarden "$BENCH_TMP/keywarden.log" --threads 1 --access-log=false \
    --kmip-listen 127.0.0.1:0 --kmip-threads "$KMIP_THREADS" \
    --kmip-tls-cert "$BENCH_TMP/server.pem" --kmip-tls-key "$BENCH_TMP/server.key"
KMIP_PORT=$(grep -o 'KMIP listening on [^"]*' "$BENCH_TMP/keywarden.log" | head -1 | sed 's/.*://')
[[ -n $KMIP_PORT ]] || die "no KMIP listener in the log"
echo "keywarden $KW_URL, KMIP port $KMIP_PORT (pid $KW_PID, --kmip-threads $KMIP_THREADS, $(threads_of "$KW_PID") OS threads)"

# kmip_setup: instance, root key, adapter, client certificate over REST;
# then an active AES-256 key over KMIP. Sets KMIP_UID.
kmip_setup() {
  AUTH=bootstrap setup_tenant
  local crk adapter pem
  crk=$(create_root_key)
  [[ -n $crk ]] || die "could not create a root key"
  adapter=$(kw_curl POST /api/v2/kmip_adapters \
    "{\"metadata\":{\"collectionType\":\"application/vnd.ibm.kms.kmip_adapter+json\",\"collectionTotal\":1},\"resources\":[{\"name\":\"bench\",\"profile\":\"native_1.0\",\"profile_data\":{\"crk_id\":\"$crk\"}}]}" \
    | grep -o '"id":"[0-9a-f-]\{36\}"' | head -1 | cut -d'"' -f4)
  [[ -n $adapter ]] || die "could not create a KMIP adapter"
  pem=$(awk '{printf "%s\\n", $0}' "$BENCH_TMP/client.pem")
  kw_curl POST "/api/v2/kmip_adapters/$adapter/certificates" \
    "{\"metadata\":{\"collectionType\":\"application/vnd.ibm.kms.kmip_client_certificate+json\",\"collectionTotal\":1},\"resources\":[{\"name\":\"bench-client\",\"certificate\":\"$pem\"}]}" \
    | grep -q '"id"' || die "could not register the client certificate"
  KMIP_UID=$("$PYTHON" -W ignore bench/kmip_encrypt_load.py --port "$1" \
      --cert "$BENCH_TMP/client.pem" --key "$BENCH_TMP/client.key" \
      --ca "$BENCH_TMP/server.pem" --version "$KMIP_VERSION" --setup-only)
  [[ -n $KMIP_UID ]] || die "could not create the AES-256 key over KMIP"
}
kmip_setup "$KMIP_PORT"
echo "instance $KW_INSTANCE, KMIP key $KMIP_UID"
[[ $PIN == 1 ]] && echo "pinning: keywarden on CPU $((NCPU - 1)), kmip_load on CPUs 0-$((NCPU - 2)) (PIN=0 disables)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$CONNECTIONS connections, $LOAD_THREADS generator thread(s), ${SECONDS_PER}s per run after ${WARMUP}s warm-up, KMIP $KMIP_VERSION"

# field NAME LINE: the value after NAME in a kmip_load line.
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$2"; }
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

rates=() p99s=() cpus=() failed=0
for run in $(seq 1 "$RUNS"); do
  prof_pid=""
  if [[ $run == 1 && -n ${PROFILE:-} ]]; then
    case $PROFILE in
      perf) PROFILE_OUT=${PROFILE_OUT:-${TMPDIR:-/tmp}/kmip-load.perf.txt}
            perf record -q -g -o "$BENCH_TMP/perf.data" -p "$KW_PID" 2>/dev/null & ;;
      strace) PROFILE_OUT=${PROFILE_OUT:-${TMPDIR:-/tmp}/kmip-load.strace.txt}
              strace -c -f -o "$PROFILE_OUT" -p "$KW_PID" 2>/dev/null & ;;
      *) die "PROFILE is perf or strace" ;;
    esac
    prof_pid=$!
    BENCH_PIDS+=("$prof_pid")
    sleep 0.5
  fi
  line=$(${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "$LOAD_BIN" --port "$KMIP_PORT" \
      --cert "$BENCH_TMP/client.pem" --key "$BENCH_TMP/client.key" --ca "$BENCH_TMP/server.pem" \
      --uid "$KMIP_UID" --connections "$CONNECTIONS" --threads "$LOAD_THREADS" \
      --seconds "$SECONDS_PER" --warmup "$WARMUP" --version "$KMIP_VERSION" \
      --server-pid "$KW_PID") || failed=1
  echo "run $run: ${line#kmip_load: }"
  if [[ -n $prof_pid ]]; then
    kill -INT "$prof_pid" 2>/dev/null || true
    wait "$prof_pid" 2>/dev/null || true
    if [[ $PROFILE == perf ]]; then
      perf report -i "$BENCH_TMP/perf.data" ${PERF_REPORT_ARGS:---no-children} --stdio 2>/dev/null \
        | head -400 >"$PROFILE_OUT"
    fi
    echo "profile of run 1 (not representative of its rate): $PROFILE_OUT"
  fi
  [[ -n $line ]] || continue
  rates+=("$(field ops_per_s "$line")")
  p99s+=("$(field p99_ms "$line")")
  cpus+=("$(field server_cpu_us_per_op "$line")")
done
[[ ${#rates[@]} -gt 0 ]] || die "no run finished"
echo "median of ${#rates[@]}: $(printf '%s\n' "${rates[@]}" | median) Encrypt/s," \
     "p99 $(printf '%s\n' "${p99s[@]}" | median) ms," \
     "keywarden CPU $(printf '%s\n' "${cpus[@]}" | median) us/op" \
     "(target: >= 50000/s, p99 < 2 ms)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $failed
