#!/usr/bin/env bash
# Server CPU time per KMIP Encrypt: PyKMIP's own server against keywarden,
# with the same PyKMIP client workload, in the same run (issue 12 "Bench":
# keywarden's CPU per operation at most 1/100 of PyKMIP's).
#
# The workload (bench/kmip_encrypt_load.py, PyKMIP's ProxyKmipClient under
# /usr/bin/python3): one TLS connection, KMIP 1.4 Encrypt of 32 bytes with an
# AES-256 key, AES-GCM with a 16-byte tag and no IV in the request, so each
# server picks its own (PyKMIP's server a 16-byte one, keywarden 12 bytes);
# both servers support GCM, so no other mode is needed.
#
# Builds the Release keywarden (make build), makes a server and a client
# certificate (EC P-256; the client's has extendedKeyUsage clientAuth, which
# PyKMIP's server demands, and is PyKMIP's CA file as a self-signed
# certificate), then starts, each in the temp dir:
#   - /usr/bin/pykmip-server (Debian python3-pykmip) with its own config,
#     SQLite database, empty policy dir, TLS1.2 auth suite, client
#     certificates required, log level WARNING (INFO would log each
#     operation, which keywarden does not);
#   - keywarden (access log off, --threads 1, --kmip-threads 1), with an
#     instance, a root key, a KMIP adapter and the client certificate set up
#     over REST.
# On each server the client creates and activates one AES-256 key, then
# RUNS rounds alternate the servers: each round a fresh client process sends
# WARMUP Encrypts, then PY_OPS (PyKMIP) or KW_OPS (keywarden) Encrypts back
# to back, and reports the server process's utime+stime (/proc/PID/stat)
# over those operations divided by their number, and the client's ops/s.
# The counters tick at 100 Hz (10 ms), so keywarden gets more operations to
# keep its figure several dozen ticks wide. Prints each round, the medians and the ratio
# keywarden_cpu_per_op / pykmip_cpu_per_op.
#
# Environment (defaults): RUNS=5 PY_OPS=1000 KW_OPS=5000 WARMUP=100
#   KMIP_VERSION=1.4
#   PIN=1 (default with 2+ CPUs): both servers on the last CPU, the client on
#   the others. SKIP_BUILD=1 uses the existing build/keywarden.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

RUNS=${RUNS:-5}
PY_OPS=${PY_OPS:-1000}
KW_OPS=${KW_OPS:-5000}
WARMUP=${WARMUP:-100}
KMIP_VERSION=${KMIP_VERSION:-1.4}
PYTHON=/usr/bin/python3
PYKMIP_SERVER=${PYKMIP_SERVER:-/usr/bin/pykmip-server}

[[ -x $PYKMIP_SERVER ]] || die "no $PYKMIP_SERVER: scripts/deps.sh test (python3-pykmip)"
"$PYTHON" -c 'import kmip' 2>/dev/null || die "PyKMIP missing: scripts/deps.sh test"
[[ ${SKIP_BUILD:-0} == 1 ]] || make --no-print-directory build

for name in server client; do
  if [[ $name == server ]]; then cn=localhost eku=serverAuth; else cn=bench-client eku=clientAuth; fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
      -subj "/CN=$cn" -addext "extendedKeyUsage=$eku" \
      -keyout "$BENCH_TMP/$name.key" -out "$BENCH_TMP/$name.pem" 2>/dev/null || die "openssl failed"
  chmod 600 "$BENCH_TMP/$name.key"
done

# --- PyKMIP's server
PY_PORT=$(free_port)
mkdir -p -m 700 "$BENCH_TMP/pykmip" "$BENCH_TMP/pykmip/policies"
cat >"$BENCH_TMP/pykmip/server.conf" <<EOF
[server]
hostname=127.0.0.1
port=$PY_PORT
certificate_path=$BENCH_TMP/server.pem
key_path=$BENCH_TMP/server.key
ca_path=$BENCH_TMP/client.pem
auth_suite=TLS1.2
policy_path=$BENCH_TMP/pykmip/policies
enable_tls_client_auth=True
logging_level=WARNING
database_path=$BENCH_TMP/pykmip/pykmip.db
EOF
${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$PYTHON" -W ignore "$PYKMIP_SERVER" \
    -f "$BENCH_TMP/pykmip/server.conf" -l "$BENCH_TMP/pykmip/server.log" \
    >"$BENCH_TMP/pykmip/stdout" 2>&1 &
PY_PID=$!
BENCH_PIDS+=("$PY_PID")
for _ in $(seq 1 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PY_PORT") 2>/dev/null && break
  kill -0 "$PY_PID" 2>/dev/null || { cat "$BENCH_TMP/pykmip/stdout" >&2; die "pykmip-server exited"; }
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$PY_PORT") 2>/dev/null || die "pykmip-server did not listen within 30 s"
echo "pykmip-server 127.0.0.1:$PY_PORT (pid $PY_PID, $(dpkg-query -W -f '${Version}' python3-pykmip 2>/dev/null || echo '?'))"

# --- keywarden
start_keywarden "$BENCH_TMP/keywarden.log" --threads 1 --access-log=false \
    --kmip-listen 127.0.0.1:0 --kmip-threads 1 \
    --kmip-tls-cert "$BENCH_TMP/server.pem" --kmip-tls-key "$BENCH_TMP/server.key"
KW_KMIP_PORT=$(grep -o 'KMIP listening on [^"]*' "$BENCH_TMP/keywarden.log" | head -1 | sed 's/.*://')
[[ -n $KW_KMIP_PORT ]] || die "no KMIP listener in the log"
echo "keywarden $KW_URL, KMIP port $KW_KMIP_PORT (pid $KW_PID)"
AUTH=bootstrap setup_tenant
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

client() {  # client PORT ARGS...
  local port=$1; shift
  ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "$PYTHON" -W ignore bench/kmip_encrypt_load.py \
      --port "$port" --cert "$BENCH_TMP/client.pem" --key "$BENCH_TMP/client.key" \
      --ca "$BENCH_TMP/server.pem" --version "$KMIP_VERSION" "$@"
}
PY_UID=$(client "$PY_PORT" --setup-only) || die "key setup on pykmip-server failed"
KW_UID=$(client "$KW_KMIP_PORT" --setup-only) || die "key setup on keywarden failed"
echo "keys: pykmip $PY_UID, keywarden $KW_UID"
[[ $PIN == 1 ]] && echo "pinning: servers on CPU $((NCPU - 1)), client on CPUs 0-$((NCPU - 2)) (PIN=0 disables)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$RUNS rounds of $PY_OPS (pykmip) / $KW_OPS (keywarden) Encrypts (after $WARMUP warm-up), KMIP $KMIP_VERSION, AES-256-GCM, 32 bytes"

field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$2"; }
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

py_cpu=() kw_cpu=() py_rate=() kw_rate=()
for run in $(seq 1 "$RUNS"); do
  line=$(client "$PY_PORT" --uid "$PY_UID" --ops "$PY_OPS" --warmup "$WARMUP" --server-pid "$PY_PID") \
    || die "PyKMIP round $run failed"
  echo "round $run pykmip:    $line"
  py_cpu+=("$(field server_cpu_us_per_op "$line")") py_rate+=("$(field ops_per_s "$line")")
  line=$(client "$KW_KMIP_PORT" --uid "$KW_UID" --ops "$KW_OPS" --warmup "$WARMUP" --server-pid "$KW_PID") \
    || die "keywarden round $run failed"
  echo "round $run keywarden: $line"
  kw_cpu+=("$(field server_cpu_us_per_op "$line")") kw_rate+=("$(field ops_per_s "$line")")
done
py=$(printf '%s\n' "${py_cpu[@]}" | median)
kw=$(printf '%s\n' "${kw_cpu[@]}" | median)
echo "median server CPU per Encrypt: pykmip ${py} us, keywarden ${kw} us;" \
     "client ops/s: pykmip $(printf '%s\n' "${py_rate[@]}" | median)," \
     "keywarden $(printf '%s\n' "${kw_rate[@]}" | median)"
awk -v k="$kw" -v p="$py" 'BEGIN {
  if (p <= 0) { print "ratio: PyKMIP used no measurable CPU (raise PY_OPS)"; exit }
  r = k / p
  printf "ratio keywarden/pykmip CPU per op: %.4f (1/%.0f; target <= 1/100: %s)\n",
         r, (r > 0 ? 1 / r : 0), (r <= 0.01 ? "met" : "NOT met")
}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
