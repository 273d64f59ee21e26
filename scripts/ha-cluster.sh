#!/usr/bin/env bash
# A throw-away highly available PostgreSQL 15 on one machine, to try
# Keywarden's failover and to test it (make test-ha): one etcd member and
# three PostgreSQL members (HA_MEMBERS) managed by Patroni in synchronous
# mode, every process on 127.0.0.1 on random ports, every file in a temp dir
# (on /dev/shm when there is one).
#
#   scripts/ha-cluster.sh start STATE_DIR     etcd + pg1 + pg2 + pg3; waits
#       until all run, one leader and a synchronous standby; writes STATE_DIR/url, the
#       libpq URL with every host and target_session_attrs=read-write
#   scripts/ha-cluster.sh leader STATE_DIR    prints the leader's member name
#   scripts/ha-cluster.sh crash STATE_DIR NAME   SIGKILL to that member's
#       Patroni, postmaster and backends at once (a machine that dies)
#   scripts/ha-cluster.sh rejoin STATE_DIR NAME  starts that member's Patroni
#       again: it rewinds its old timeline and follows the new leader
#   scripts/ha-cluster.sh freeze|thaw STATE_DIR NAME   SIGSTOP|SIGCONT to
#       that member's WAL senders and receiver: the leader stops sending
#       WAL (a slow or cut link; stopping a receiver is not enough, the
#       sender fills its socket buffers meanwhile)
#   scripts/ha-cluster.sh status STATE_DIR    the members as Patroni sees them
#   scripts/ha-cluster.sh stop STATE_DIR      stops everything, removes the data
#
# Needs patroni, etcd-server and postgresql-15 (scripts/deps.sh ha). As root
# every process runs as `nobody` (initdb refuses root). Authentication is
# `trust` on 127.0.0.1 only, as in scripts/pg-test-cluster.sh: the cluster
# holds test data and lives for one run. The generated passwords Patroni
# needs for its roles are in the 0600 config files, never printed.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# Leader key lifetime: how long a crashed leader keeps its lock, the largest
# part of the failover time. Patroni needs ttl >= loop_wait + 2*retry_timeout.
HA_TTL=${HA_TTL:-10}
HA_LOOP_WAIT=${HA_LOOP_WAIT:-1}
HA_RETRY_TIMEOUT=${HA_RETRY_TIMEOUT:-4}
# Off: asynchronous replication (synchronous_mode false), only to show what
# the failover test catches then (docs/operations.md).
HA_SYNC=${HA_SYNC:-true}
# On (the default): writes stop while no synchronous standby is connected,
# so a commit is never acknowledged by one node only. Off: Patroni lets the
# primary go on alone when its standby is gone (available, not zero-loss).
HA_STRICT=${HA_STRICT:-true}
# Three members by default: when any one dies, the other two are a primary
# and a synchronous standby again once Patroni has promoted, so writes
# resume and stay on two nodes. With two, strict mode stops writes until the
# dead member is back.
HA_MEMBERS=${HA_MEMBERS:-3}
MEMBERS=()
for ((i = 1; i <= HA_MEMBERS; i++)); do MEMBERS+=("pg$i"); done

cmd=${1:-}
state=${2:-}
[[ -n $cmd && -n $state ]] || { sed -n '2,22p' "$0" >&2; exit 2; }
mkdir -p "$state"

# A command prefix, not a function: setpriv execs in place (runuser forks)
# and a backgrounded function would be a subshell, so $! of
# `"${AS_OWNER[@]}" daemon &` is the daemon itself, what `crash` must SIGKILL.
AS_OWNER=()
if [[ $(id -u) -eq 0 ]]; then
  AS_OWNER=(env HOME=/nonexistent setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
as_owner() { "${AS_OWNER[@]}" "$@"; }

die() { echo "ha-cluster: $*" >&2; exit 1; }

used_ports=" "
free_port() {  # a port nothing listens on, not handed out before in this run
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    [[ $used_ports == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      used_ports+="$p "
      echo "$p"
      return 0
    fi
  done
  die "no free port"
}

data_dir() { cat "$state/datadir" 2>/dev/null || die "no cluster in $state"; }

# The member list as Patroni's REST API of any live member reports it.
cluster_json() {
  local data name
  data=$(data_dir)
  for name in "${MEMBERS[@]}"; do
    curl -fsS --max-time 2 "http://127.0.0.1:$(cat "$data/$name.rest")/cluster" 2>/dev/null && return 0
  done
  return 1
}

running_members() {
  cluster_json | python3 -c '
import json, sys
print(sum(m.get("state") in ("running", "streaming") for m in json.load(sys.stdin).get("members", [])))' \
    2>/dev/null || echo 0
}

# Prints the name of the member with role $1 (leader, sync_standby, ...) that
# is running, or nothing.
member_with_role() {
  cluster_json | python3 -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    if m.get("role") == sys.argv[1] and m.get("state") in ("running", "streaming"):
        print(m["name"]); break' "$1" 2>/dev/null || true
}

start_patroni() {  # start_patroni NAME
  local data=$1 name=$2
  "${AS_OWNER[@]}" /usr/bin/patroni "$data/$name.yml" >>"$data/$name.log" 2>&1 &
  echo $! >"$data/$name.patroni.pid"
}

write_member_config() {  # write_member_config DATA NAME
  local data=$1 name=$2 pg rest
  pg=$(cat "$data/$name.port")
  rest=$(cat "$data/$name.rest")
  (umask 077; cat >"$data/$name.yml" <<EOF
scope: keywarden
name: $name
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$(cat "$data/etcd.port")
bootstrap:
  dcs:
    ttl: $HA_TTL
    loop_wait: $HA_LOOP_WAIT
    retry_timeout: $HA_RETRY_TIMEOUT
    synchronous_mode: $HA_SYNC
    synchronous_mode_strict: $HA_STRICT
    postgresql:
      use_pg_rewind: true
      parameters:
        synchronous_commit: 'on'
        fsync: 'on'
        max_connections: 200
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
    - locale: C
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication replicator 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $data/$name
  bin_dir: $PG_BIN
  pgpass: $data/$name.pgpass
  authentication:
    superuser:
      username: keywarden
      password: $(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    replication:
      username: replicator
      password: $(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    rewind:
      username: keywarden
      password: unused-with-trust
  parameters:
    unix_socket_directories: '$data'
tags:
  nofailover: false
  noloadbalance: false
EOF
  )
  # Patroni rereads its config as its user.
  [[ $(id -u) -eq 0 ]] && chown nobody "$data/$name.yml"
  return 0
}

case "$cmd" in
  start)
    for tool in /usr/bin/patroni /usr/bin/etcd "$PG_BIN/initdb"; do
      [[ -x $tool ]] || die "no $tool (scripts/deps.sh ha)"
    done
    rm -f "$state/url" "$state/datadir"
    base=/tmp
    [[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
    data=$(mktemp -d "$base/kw-ha-XXXXXX")
    chmod 0700 "$data"
    [[ $(id -u) -eq 0 ]] && chown nobody "$data"
    echo "$data" >"$state/datadir"

    etcd_port=$(free_port); etcd_peer=$(free_port)
    echo "$etcd_port" >"$data/etcd.port"
    for name in "${MEMBERS[@]}"; do
      free_port >"$data/$name.port"
      free_port >"$data/$name.rest"
    done
    "${AS_OWNER[@]}" /usr/bin/etcd --name kw-etcd --data-dir "$data/etcd" \
      --listen-client-urls "http://127.0.0.1:$etcd_port" \
      --advertise-client-urls "http://127.0.0.1:$etcd_port" \
      --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
      --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
      --initial-cluster "kw-etcd=http://127.0.0.1:$etcd_peer" \
      >"$data/etcd.log" 2>&1 &
    echo $! >"$data/etcd.pid"
    for _ in $(seq 1 100); do
      curl -fsS --max-time 1 "http://127.0.0.1:$etcd_port/health" >/dev/null 2>&1 && break
      sleep 0.1
    done
    curl -fsS --max-time 1 "http://127.0.0.1:$etcd_port/health" >/dev/null 2>&1 \
      || { cat "$data/etcd.log" >&2; die "etcd did not start"; }

    # pg1 first, so that it bootstraps the cluster; pg2 then clones it.
    for name in "${MEMBERS[@]}"; do
      write_member_config "$data" "$name"
      start_patroni "$data" "$name"
      if [[ $name == pg1 ]]; then
        for _ in $(seq 1 600); do
          [[ -n $(member_with_role leader) ]] && break
          sleep 0.1
        done
      fi
    done
    for _ in $(seq 1 1200); do
      # Asynchronous mode (HA_SYNC=false) has no synchronous standby.
      if [[ -n $(member_with_role leader) && $(running_members) -eq ${#MEMBERS[@]} ]] \
         && [[ $HA_SYNC != true || -n $(member_with_role sync_standby) ]]; then
        hosts=$(for name in "${MEMBERS[@]}"; do printf '127.0.0.1:%s,' "$(cat "$data/$name.port")"; done)
        echo "postgresql://keywarden@${hosts%,}/postgres?target_session_attrs=read-write" >"$state/url"
        echo "ha-cluster: leader $(member_with_role leader), sync standby $(member_with_role sync_standby || true) ($data)"
        exit 0
      fi
      sleep 0.1
    done
    tail -n 30 "$data"/*.log >&2 || true
    die "no leader with a synchronous standby within 120 s"
    ;;
  leader)
    member_with_role leader
    ;;
  status)
    cluster_json | python3 -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    print(m["name"], m.get("role"), m.get("state"), "timeline", m.get("timeline"), "lag", m.get("lag", 0))'
    ;;
  crash)
    name=${3:-}
    [[ -n $name ]] || die "crash needs a member name"
    data=$(data_dir)
    pids=()
    [[ -f $data/$name.patroni.pid ]] && pids+=("$(cat "$data/$name.patroni.pid")")
    if [[ -f $data/$name/postmaster.pid ]]; then
      pm=$(head -1 "$data/$name/postmaster.pid")
      pids+=("$pm")
      # The postmaster's children (backends, walwriter, walsender, ...).
      for child in $(ps -o pid= --ppid "$pm" 2>/dev/null); do pids+=("$child"); done
    fi
    # Patroni's own children (none in steady state, but e.g. a pg_rewind).
    if [[ -f $data/$name.patroni.pid ]]; then
      for child in $(ps -o pid= --ppid "$(cat "$data/$name.patroni.pid")" 2>/dev/null); do
        [[ " ${pids[*]} " == *" $child "* ]] || pids+=("$child")
      done
    fi
    [[ ${#pids[@]} -gt 0 ]] || die "member $name is not running"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    rm -f "$data/$name.patroni.pid"
    echo "ha-cluster: killed $name (pids ${pids[*]})"
    ;;
  freeze|thaw)
    name=${3:-}
    [[ -n $name ]] || die "$cmd needs a member name"
    data=$(data_dir)
    [[ -f $data/$name/postmaster.pid ]] || die "member $name is not running"
    pm=$(head -1 "$data/$name/postmaster.pid")
    wal=$(ps -o pid=,args= --ppid "$pm" | awk '/walsender|walreceiver/ {print $1}')
    [[ -n $wal ]] || die "member $name has no WAL sender or receiver"
    # shellcheck disable=SC2086
    kill "-$([[ $cmd == freeze ]] && echo STOP || echo CONT)" $wal
    ;;
  rejoin)
    name=${3:-}
    [[ -n $name ]] || die "rejoin needs a member name"
    data=$(data_dir)
    start_patroni "$data" "$name"
    ;;
  stop)
    rm -f "$state/url"
    [[ -f $state/datadir ]] || exit 0
    data=$(cat "$state/datadir")
    rm -f "$state/datadir"
    for name in "${MEMBERS[@]}"; do
      if [[ -f $data/$name.patroni.pid ]]; then
        kill -TERM "$(cat "$data/$name.patroni.pid")" 2>/dev/null || true
      fi
    done
    for name in "${MEMBERS[@]}"; do
      [[ -f $data/$name.patroni.pid ]] || continue
      pid=$(cat "$data/$name.patroni.pid")
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    done
    # A postmaster left behind (its Patroni was SIGKILLed): stop it too.
    for name in "${MEMBERS[@]}"; do
      if [[ -f $data/$name/postmaster.pid ]]; then
        as_owner "$PG_BIN/pg_ctl" -D "$data/$name" -m immediate -w stop >/dev/null 2>&1 || true
      fi
    done
    if [[ -f $data/etcd.pid ]]; then
      pid=$(cat "$data/etcd.pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    case "$data" in /tmp/kw-ha-*|/dev/shm/kw-ha-*) rm -rf "$data" ;; esac
    ;;
  *)
    sed -n '2,22p' "$0" >&2
    exit 2
    ;;
esac
