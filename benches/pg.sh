#!/usr/bin/env bash
# Benchmark dsr on a PostgreSQL store (issue 16; see docs/benchmarks.md).
#
#   benches/pg.sh [CUSTOMERS] [LOG_LINES] [IP_EVENTS]
#
# Builds (once, cached under target/bench/ as benches/bench.sh does) a generated SQLite store,
# copies it into PostgreSQL with `dsr migrate` (binary COPY; timed), then times whole `dsr`
# processes on the PostgreSQL store against the lower bound of the same reads by hand-written
# SQL in one `psql` process, and prints a Markdown table and the server's settings.
#
# The server: $DSR_BENCH_PG, else $DSR_TEST_PG, else a throw-away cluster started with
# tests/pg-cluster.sh under target/bench/pg (stopped and removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

customers=${1:-100000}
log_lines=${2:-20}
ip_events=${3:-10}
runs=${RUNS:-30}
source benches/common.sh

url=${DSR_BENCH_PG:-${DSR_TEST_PG:-}}
own=""
if [ -z "$url" ]; then
  own=$dir/pg
  rm -rf "$own"
  eval "$(DSR_TEST_PG_PORT=${DSR_BENCH_PG_PORT:-54339} tests/pg-cluster.sh start "$own")"
  url=$DSR_TEST_PG
  trap 'tests/pg-cluster.sh stop "$own" >/dev/null 2>&1 || true' EXIT
fi
schema=bench_$customers
export DSR_PG_SCHEMA=$schema
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$url" "$@"; }
psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null

rows=0
for t in $(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"); do
  rows=$((rows + $(sqlite3 "$db" "SELECT count(*) FROM \"$t\"")))
done
t0=$(now_ms)
"$dsr" -q --db "$db" migrate --from "$db" --to "$url" --schema "$schema" >/dev/null
t1=$(now_ms)
migrate_ms=$((t1 - t0))
# Statistics for the planner, as autovacuum would gather them after a load (identifier columns
# have none: dsr migrate sets their statistics target to 0).
psql_ -c "VACUUM ANALYZE" >/dev/null

# The lower bound of `lookup --customer`: the same counts, by hand, in one psql process.
lookup_sql() {
  local id=$1
  local sub="(SELECT person_id FROM customer WHERE customer_number = '$id')"
  local cust="(SELECT id FROM customer WHERE customer_number = '$id')"
  local q="SET search_path TO $schema; SELECT count(*) FROM email_address WHERE person_id IN $sub;"
  for t in company login_account ip_event web_session payment_method quote invoice service domain; do
    q+="SELECT count(*) FROM $t WHERE customer_id IN $cust;"
  done
  for t in phone_number application cookie consent crash_report ticket disclosure; do
    q+="SELECT count(*) FROM $t WHERE person_id IN $sub;"
  done
  q+="SELECT count(*) FROM server_log WHERE session_id IN (SELECT id FROM web_session WHERE customer_id IN $cust);"
  q+="SELECT count(*) FROM payment WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $cust);"
  q+="SELECT count(*) FROM dunning_event WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $cust);"
  psql_ -A -t -c "$q"
}
export -f lookup_sql psql_
export url schema

# Each side once untimed (the server's cache), then the medians.
"$dsr" --db "$url" lookup --customer G00000001 >/dev/null
lookup_sql G00000001 >/dev/null
lookup_ms=$(time_each "$dsr" --db "$url" --json lookup --customer '{}')
lookup_sql_ms=$(time_each bash -c 'lookup_sql {}')
# The same answer from both stores, for one customer.
diff <("$dsr" --db "$url" --json lookup --customer G00000042) <("$dsr" --db "$db" --json lookup --customer G00000042) >/dev/null \
  || { echo "lookup differs between PostgreSQL and SQLite" >&2; exit 1; }

echo "PostgreSQL $(psql_ -A -t -c 'SHOW server_version'), $customers customers ($rows rows in all), $runs runs each, medians"
echo
echo "| command | dsr | hand-written SQL (one psql) | ratio |"
echo "|---|---|---|---|"
echo "| dsr migrate (binary COPY into a new schema) | $migrate_ms ms | | |"
echo "| lookup --customer | $lookup_ms ms | $lookup_sql_ms ms | $(ratio "$lookup_ms" "$lookup_sql_ms") |"
echo
echo "Server settings:"
for s in shared_buffers work_mem effective_cache_size synchronous_commit fsync max_wal_size; do
  echo "- $s = $(psql_ -A -t -c "SHOW $s")"
done
psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
