#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests that need a real server (issue 16).
#
#   eval "$(tests/pg-cluster.sh start DIR)"   # prints: export DSR_TEST_PG=postgres://...
#   tests/pg-cluster.sh stop DIR              # stops the server and removes DIR
#
# The cluster lives in DIR, owned by an unprivileged user (postgres's own initdb refuses to run
# as root): the `postgres` account where the package made one, otherwise `nobody`. It listens on
# a Unix socket in DIR (and, where openssl is installed, on 127.0.0.1 with TLS and a CA of its
# own: DSR_TEST_PG_TLS, DSR_TEST_PG_CA), trusts local connections, and knows one role, `dsr`. With
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
    # TLS on 127.0.0.1 too, with a CA of the cluster's own (the tests of sslmode=verify-full
    # and sslrootcert): where openssl is installed.
    listen="-c listen_addresses=''"
    if command -v openssl >/dev/null; then
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dsr test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$dir/san.ext"
      openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 2 -extfile "$dir/san.ext" -out "$dir/server.crt" >/dev/null 2>&1
      chmod 0600 "$dir/server.key"
      [ "$(id -u)" -eq 0 ] && chown "$owner" "$dir/server.key" "$dir/server.crt"
      listen="-c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "$listen -k $dir -p $port -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    # A URL with the socket directory as its host, percent-encoded.
    host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$dir")
    echo "export DSR_TEST_PG='postgres://dsr@$host:$port/postgres'"
    if [ -f "$dir/server.crt" ]; then
      echo "export DSR_TEST_PG_TLS='postgres://dsr@localhost:$port/postgres'"
      echo "export DSR_TEST_PG_CA='$dir/ca.pem'"
    fi
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
