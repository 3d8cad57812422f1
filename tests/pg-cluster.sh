#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests that need a real server (issue 16).
#
#   eval "$(tests/pg-cluster.sh start DIR)"   # prints: export DSR_TEST_PG=postgres://...
#   tests/pg-cluster.sh stop DIR              # stops the server and removes DIR
#
# The cluster lives in DIR, owned by an unprivileged user (postgres's own initdb refuses to run
# as root): the `postgres` account where the package made one, otherwise `nobody`. It listens on
# a Unix socket in DIR only (no TCP), trusts local connections, and knows one role, `dsr`. With
# no server binary installed, `start` prints nothing on stdout and exits 3 (the caller decides
# whether that is an error).
set -euo pipefail

cmd=${1:?usage: pg-cluster.sh start|stop DIR}
dir=${2:?usage: pg-cluster.sh start|stop DIR}
port=${DSR_TEST_PG_PORT:-54329}

bin=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && bin=$d
done

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}
owner=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  owner=nobody
  id postgres >/dev/null 2>&1 && owner=postgres
fi

case "$cmd" in
  start)
    if [ -z "$bin" ]; then
      echo "pg-cluster.sh: no PostgreSQL server binary (initdb, pg_ctl) under /usr/lib/postgresql" >&2
      exit 3
    fi
    mkdir -p "$dir"
    chmod 0755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$owner" "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U dsr --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -p $port -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    # A URL with the socket directory as its host, percent-encoded.
    host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$dir")
    echo "export DSR_TEST_PG='postgres://dsr@$host:$port/postgres'"
    ;;
  stop)
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg-cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac
