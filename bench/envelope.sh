#!/usr/bin/env bash
# `keywarden encrypt` / `decrypt` of one large file against `openssl enc
# -aes-256-ctr` of the same file, in the same run (issue 11 §2,
# docs/integrations/object-storage.md).
#
# Builds the Release binary (build/keywarden), starts keywarden (temp data
# dir, access log off) and creates an instance, a root key and a service id
# of type cloud-object-storage with an API key and a Reader authorization.
# Then, RUNS times, interleaved so that each run sees the same machine:
#   openssl enc -aes-256-ctr        (the reference: encrypt)
#   keywarden encrypt               (one wrap call + AES-256-GCM, 64 KiB segments)
#   openssl enc -d -aes-256-ctr     (the reference: decrypt)
#   keywarden decrypt               (one unwrap call + GCM, temp file + rename)
# each reading the file and writing its output in $DIR. Prints every run,
# the medians, the ratios openssl time / keywarden time (>= 1.0: keywarden is
# at least as fast) and the peak RSS of keywarden (/usr/bin/time -v).
# Targets: ratios >= 1.0, peak RSS < 32 MiB.
#
# Environment (defaults): SIZE_MIB=512 RUNS=5 DIR=/dev/shm (else $TMPDIR)
#   SKIP_BUILD=1 uses the existing build/.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

SIZE_MIB=${SIZE_MIB:-512}
RUNS=${RUNS:-5}
if [[ -z ${DIR:-} ]]; then
  DIR=/dev/shm
  [[ -d $DIR && -w $DIR ]] || DIR=${TMPDIR:-/tmp}
fi
command -v openssl >/dev/null || die "no openssl (scripts/deps.sh bench)"
[[ -x /usr/bin/time ]] || die "no /usr/bin/time (scripts/deps.sh bench)"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  make --no-print-directory build
fi

start_keywarden "$BENCH_TMP/keywarden.log" --access-log=false
echo "keywarden $KW_URL (pid $KW_PID)"
setup_tenant  # the instance (KW_INSTANCE)
admin=(-s -H "Authorization: Bearer $KW_TOKEN")
sid=$(curl "${admin[@]}" -X POST "$KW_URL/admin/v1/service_ids" \
        -d '{"name":"bench-cos","serviceType":"cloud-object-storage"}' | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
apikey=$(curl "${admin[@]}" -X POST "$KW_URL/admin/v1/api_keys" \
           -d "{\"principalId\":\"$sid\",\"name\":\"bench\"}" | grep -o '"apikey":"[^"]*"' | cut -d'"' -f4)
curl "${admin[@]}" -o /dev/null -X POST "$KW_URL/admin/v1/authorizations" \
     -d "{\"sourceServiceId\":\"$sid\",\"instanceId\":\"$KW_INSTANCE\",\"role\":\"Reader\"}"
key=$(create_root_key)
[[ -n $key && -n $apikey ]] || die "tenant setup failed"

work=$(mktemp -d "$DIR/keywarden-envelope-bench.XXXXXX")
trap 'rm -rf "$work"; bench_cleanup' EXIT
plain="$work/plain"
echo "writing ${SIZE_MIB} MiB of random data to $plain"
openssl rand -out "$plain" $((SIZE_MIB << 20)) 2>/dev/null \
  || head -c $((SIZE_MIB << 20)) /dev/urandom >"$plain"
K=$(openssl rand -hex 32)
IV=$(openssl rand -hex 16)

export KEYWARDEN_APIKEY=$apikey
kw_args=(--addr "$KW_URL" --instance "$KW_INSTANCE" --no-progress)

now_ns() { date +%s%N; }
# timed NAME CMD...: runs CMD under /usr/bin/time -v; appends the seconds to
# $work/NAME.times and the peak RSS (KiB) to $work/NAME.rss.
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(now_ns)
  /usr/bin/time -v -o "$work/time.out" "$@"
  t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }' >>"$work/$name.times"
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.out" >>"$work/$name.rss"
}

for run in $(seq 1 "$RUNS"); do
  rm -f "$work/ctr" "$work/ctr.out" "$work/kw" "$work/kw.out"
  timed openssl_enc openssl enc -aes-256-ctr -K "$K" -iv "$IV" -in "$plain" -out "$work/ctr"
  timed kw_encrypt "$KEYWARDEN_BIN" encrypt "${kw_args[@]}" --key "$key" \
      --aad bench=envelope "$plain" "$work/kw"
  timed openssl_dec openssl enc -d -aes-256-ctr -K "$K" -iv "$IV" -in "$work/ctr" -out "$work/ctr.out"
  timed kw_decrypt "$KEYWARDEN_BIN" decrypt "${kw_args[@]}" "$work/kw" "$work/kw.out"
  cmp -s "$plain" "$work/kw.out" || die "run $run: keywarden decrypt gave other bytes"
  printf 'run %d: openssl enc %ss, keywarden encrypt %ss, openssl enc -d %ss, keywarden decrypt %ss\n' \
    "$run" "$(tail -1 "$work/openssl_enc.times")" "$(tail -1 "$work/kw_encrypt.times")" \
    "$(tail -1 "$work/openssl_dec.times")" "$(tail -1 "$work/kw_decrypt.times")"
done

median() { sort -n "$1" | awk '{v[NR] = $1} END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max_of() { sort -n "$1" | tail -1; }

oe=$(median "$work/openssl_enc.times"); ke=$(median "$work/kw_encrypt.times")
od=$(median "$work/openssl_dec.times"); kd=$(median "$work/kw_decrypt.times")
rss_e=$(max_of "$work/kw_encrypt.rss"); rss_d=$(max_of "$work/kw_decrypt.rss")
rss_o=$(max_of "$work/openssl_enc.rss")
echo
echo "${SIZE_MIB} MiB in $DIR, median of $RUNS runs (ratio = openssl time / keywarden time; target >= 1.0)"
awk -v oe="$oe" -v ke="$ke" -v od="$od" -v kd="$kd" -v s="$SIZE_MIB" 'BEGIN {
  printf "  encrypt: openssl enc -aes-256-ctr %.3fs (%.0f MiB/s), keywarden encrypt %.3fs (%.0f MiB/s), ratio %.2f\n", oe, s / oe, ke, s / ke, oe / ke
  printf "  decrypt: openssl enc -d           %.3fs (%.0f MiB/s), keywarden decrypt %.3fs (%.0f MiB/s), ratio %.2f\n", od, s / od, kd, s / kd, od / kd
}'
echo "  peak RSS: keywarden encrypt ${rss_e} KiB, keywarden decrypt ${rss_d} KiB (target < 32768), openssl enc ${rss_o} KiB"
