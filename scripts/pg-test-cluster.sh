#!/usr/bin/env bash
# A throw-away PostgreSQL 15 for the tests, on a loopback port, in a temp dir
# (on /dev/shm when there is one).
#
#   scripts/pg-test-cluster.sh start STATE_DIR   initdb + pg_ctl start; writes
#                                                STATE_DIR/url (a libpq URL)
#   scripts/pg-test-cluster.sh stop STATE_DIR    stops it and removes its data
#
# If KEYWARDEN_TEST_PG_URL is already set (scripts/test.sh started a cluster
# for the whole run), start only writes that URL and stop does nothing.
# Without PostgreSQL 15's binaries, start writes no URL and says so: the
# tests then skip with that reason (or fail under KEYWARDEN_TEST_PG_REQUIRED).
#
# initdb refuses to run as root, so as root the cluster runs as `nobody`
# (its files in a temp dir that nobody owns). Authentication is `trust` on
# 127.0.0.1 only: the cluster holds test data and lives for one run.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
state=${2:-}
[[ -n $cmd && -n $state ]] || { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }
mkdir -p "$state"

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    rm -f "$state/url" "$state/datadir"
    if [[ -n ${KEYWARDEN_TEST_PG_URL:-} ]]; then
      echo "$KEYWARDEN_TEST_PG_URL" > "$state/url"
      exit 0
    fi
    if [[ ! -x $PG_BIN/initdb ]]; then
      echo "pg-test-cluster: no $PG_BIN/initdb (Debian: postgresql-15; scripts/deps.sh test)" >&2
      exit 0
    fi
    # On tmpfs when there is one: fsync stays on (the store refuses a server
    # without it) but costs no disk flush, and the cluster is thrown away.
    # PG_TEST_BASE puts it elsewhere: bench/keys-store.sh wants the disk
    # that SQLite's data dir is on, so that both pay the same fsync.
    base=/tmp
    [[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
    base=${PG_TEST_BASE:-$base}
    data=$(mktemp -d "$base/kw-pg-XXXXXX")
    chmod 0755 "$data"
    [[ $(id -u) -eq 0 ]] && chown nobody "$data"
    echo "$data" > "$state/datadir"
    as_owner "$PG_BIN/initdb" -D "$data/db" -U keywarden --auth=trust \
      --encoding=UTF8 --locale=C >"$data/initdb.log" 2>&1 \
      || { cat "$data/initdb.log" >&2; exit 1; }
    # A free port: a few random tries, since PostgreSQL cannot take port 0.
    for _ in 1 2 3 4 5 6 7 8; do
      port=$(( 20000 + RANDOM % 30000 ))
      if as_owner "$PG_BIN/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 30 \
           -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" \
           start >/dev/null 2>&1; then
        echo "postgresql://keywarden@127.0.0.1:$port/postgres" > "$state/url"
        echo "pg-test-cluster: PostgreSQL 15 on 127.0.0.1:$port ($data)"
        exit 0
      fi
    done
    cat "$data/server.log" >&2 || true
    echo "pg-test-cluster: could not start PostgreSQL" >&2
    exit 1
    ;;
  stop)
    rm -f "$state/url"
    [[ -f $state/datadir ]] || exit 0
    data=$(cat "$state/datadir")
    rm -f "$state/datadir"
    if [[ -d $data/db ]]; then
      as_owner "$PG_BIN/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1 || true
    fi
    case "$data" in /tmp/kw-pg-*|/dev/shm/kw-pg-*|${PG_TEST_BASE:-/nonexistent}/kw-pg-*) rm -rf "$data" ;; esac
    ;;
  *)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
