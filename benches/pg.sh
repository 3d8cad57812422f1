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
# RETENTION_BATCH=N runs `retention run --batch N` (default: its own default).
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

# The lower bounds' runner: the statements lookup_counts_sql or person_rows_sql left in $sql, by
# hand, in one psql process.
run_psql() { psql_ -A -t -c "SET search_path TO $schema; $sql"; }

# Each side once untimed (the server's cache), then the medians, the two alternately.
"$dsr" --db "$url" lookup --customer G00000001 >/dev/null
lookup_counts_sql G00000001; run_psql >/dev/null
read -r lookup_ms lookup_sql_ms < <(time_pair lookup_counts_sql run_psql "$dsr" --db "$url" --json lookup --customer '{}')
# The same answer from both stores, for one customer.
diff <("$dsr" --db "$url" --json lookup --customer G00000042) <("$dsr" --db "$db" --json lookup --customer G00000042) >/dev/null \
  || { echo "lookup differs between PostgreSQL and SQLite" >&2; exit 1; }

# Verified requests, made through the real flow on the PostgreSQL store: the code letter goes
# to outbox/ in the directory dsr runs in (a work directory of this script's own).
work=$dir/pg-work
rm -rf "$work"; mkdir -p "$work"
verified_pg() { # verified_pg RIGHT CUSTOMER -> request id
  local req code
  req=$(cd "$work" && "$dsr" --db "$url" --json "$1" --customer "$2" | sed -n 's/.*"request": "\(DSR-[0-9-]*\)".*/\1/p')
  code=$(tr -d '\r' < "$(ls "$work"/outbox/"$req"-*.eml | tail -1)" | grep -E '^ *[0-9A-Z]{4}-[0-9A-Z]{4} *$' | head -1 | tr -d ' ')
  (cd "$work" && "$dsr" --db "$url" verify "$req" "$code" >/dev/null)
  echo "$req"
}
median_of() { printf '%s\n' "$@" | median; }

# `us CMD...`: CMD run in the work directory (its outbox), its time in microseconds, by bash's
# own clock (no process started to read the time, none to change directory).
us() {
  local t0 t1
  pushd "$work" >/dev/null
  t0=${EPOCHREALTIME/./}; "$@" >/dev/null; t1=${EPOCHREALTIME/./}
  popd >/dev/null
  echo $((t1 - t0))
}

# Each dsr command alternately with the same rows read by hand-written SQL in one psql process
# (every table of the person), for the same person.
access_s=(); export_s=(); rows_s=(); rows_portable_s=(); erase_s=(); erase_sql_s=()
for i in $(seq 1 "$runs"); do
  n=$(( (i * 7919) % customers + 1 )); id=$(printf 'G%08d' "$n")
  req=$(verified_pg access "$id")
  access_s+=("$(us "$dsr" --db "$url" --json access "$req")")
  person_rows_sql "$id" 0; rows_s+=("$(us run_psql)")
  req=$(verified_pg export "$id")
  export_s+=("$(us "$dsr" --db "$url" -q export "$req" --out x.zip --force)")
  person_rows_sql "$id" 1; rows_portable_s+=("$(us run_psql)")
done
rows_ms=$(median_of "${rows_s[@]}" | us_to_ms); rows_portable_ms=$(median_of "${rows_portable_s[@]}" | us_to_ms)
# Erasure of one person: dsr (the plan, the deletes, its records, the letter, then VACUUM of the
# touched tables) against the same deletes by hand in one transaction, then VACUUM of the same
# tables, in one psql process.
for i in $(seq 1 "$runs"); do
  n=$(( (i * 15485863) % customers + 1 )); id=$(printf 'G%08d' "$n")
  req=$(verified_pg erase "$id")
  erase_s+=("$(us "$dsr" --db "$url" -q erase "$req" --yes)")
  n2=$(( (i * 32452843) % customers + 1 )); id2=$(printf 'G%08d' "$n2")
  erase_sql "$id2"
  t0=${EPOCHREALTIME/./}
  psql_ -c "SET search_path TO $schema; BEGIN; $sql COMMIT;" >/dev/null
  psql_ -c "SET search_path TO $schema" -c "VACUUM (INDEX_CLEANUP ON, ANALYZE) unsolicited_data, ticket_message, ticket, consent, cookie, server_log, web_session, ip_event, payment, dunning_event, quote, invoice, payment_method, domain, service, login_account, crash_report, email_address, phone_number, customer, person" >/dev/null
  t1=${EPOCHREALTIME/./}; erase_sql_s+=($((t1 - t0)))
done
access_ms=$(median_of "${access_s[@]}" | us_to_ms); export_ms=$(median_of "${export_s[@]}" | us_to_ms)
erase_ms=$(median_of "${erase_s[@]}" | us_to_ms); erase_sql_ms=$(median_of "${erase_sql_s[@]}" | us_to_ms)

# Batch export of BATCH people (default 2,000), verified by portal session, as benches/bench.sh.
batch=${BATCH:-2000}
{ echo "customer,verified_by,reference"; for i in $(seq 1 "$batch"); do printf 'G%08d,portal-session,b%d\n' $(( (i * 104729) % customers + 1 )) "$i"; done; } > "$work/batch.csv"
# A row whose customer an erasure above removed fails (exit 19); the rest are written.
t0=$(now_ms)
(cd "$work" && "$dsr" --db "$url" -q --json export --batch batch.csv --out-dir batch >batch.json) || [ $? = 19 ]
t1=$(now_ms)
batch_done=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["done"])' "$work/batch.json")
rm -rf "$work/batch"
batch_rate=$(awk -v n="$batch" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ms / 1000) }')
batch_s=$(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')

# Retention: server logs older than 6 months. The raw lower bound first: one DELETE of those
# rows from a copy of server_log (same columns, indexes and rows; no foreign keys point to it)
# in a schema of its own, then the same with VACUUM after. Then `dsr retention run` on the
# store itself (every rule; the server-logs rule's own time from its JSON, and the whole run,
# which also vacuums the tables it removed rows from).
ret_now=${RETENTION_NOW:-2027-01-15T00:00:00Z}
cut=$(date -u -d "${ret_now} -6 months" +%Y-%m-%dT%H:%M:%SZ)
raw=${schema}_raw
expired=$(psql_ -A -t -c "SELECT count(*) FROM $schema.server_log WHERE logged_at < '$cut'")
cols=$(psql_ -A -t -c "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FROM information_schema.columns
  WHERE table_schema = '$schema' AND table_name = 'server_log' AND is_generated = 'NEVER'")
copy_log() {
  psql_ -c "DROP SCHEMA IF EXISTS $raw CASCADE" -c "CREATE SCHEMA $raw" \
    -c "CREATE TABLE $raw.server_log (LIKE $schema.server_log INCLUDING ALL)" \
    -c "INSERT INTO $raw.server_log ($cols) SELECT $cols FROM $schema.server_log" -c "VACUUM ANALYZE $raw.server_log" >/dev/null 2>&1
}
copy_log
t0=$(now_ms); psql_ -c "DELETE FROM $raw.server_log WHERE logged_at < '$cut'" >/dev/null; t1=$(now_ms)
ret_sql_ms=$((t1 - t0))
copy_log
t0=$(now_ms)
psql_ -c "DELETE FROM $raw.server_log WHERE logged_at < '$cut'" -c "VACUUM (INDEX_CLEANUP ON, ANALYZE) $raw.server_log" >/dev/null
t1=$(now_ms)
ret_sql_vacuum_ms=$((t1 - t0))
psql_ -c "DROP SCHEMA IF EXISTS $raw CASCADE" >/dev/null
t0=$(now_ms)
(cd "$work" && DSR_NOW=$ret_now "$dsr" --db "$url" -q --json retention run ${RETENTION_BATCH:+--batch "$RETENTION_BATCH"} >"$work/ret.json")
t1=$(now_ms)
ret_ms=$((t1 - t0))
ret_rule_ms=$(python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1]))["rules"] if x["rule"]=="server-logs"][0]; print(round(r["seconds"]*1000))' "$work/ret.json")
left=$(psql_ -A -t -c "SELECT count(*) FROM $schema.server_log WHERE logged_at < '$cut'")
removed=$((expired - left))
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.0f", n / (ms / 1000); else print "n/a" }'; }

echo "PostgreSQL $(psql_ -A -t -c 'SHOW server_version'), $customers customers ($rows rows in all), $runs runs each, medians"
echo
echo "| command | dsr | hand-written SQL (one psql) | ratio |"
echo "|---|---|---|---|"
echo "| dsr migrate (binary COPY into a new schema) | $migrate_ms ms | | |"
echo "| lookup --customer | $lookup_ms ms | $lookup_sql_ms ms | $(ratio "$lookup_ms" "$lookup_sql_ms") |"
echo "| access --json (one person) | $access_ms ms | $rows_ms ms (every row of the person) | $(ratio "$access_ms" "$rows_ms") |"
echo "| export --out (one person) | $export_ms ms | $rows_portable_ms ms (the portable rows) | $(ratio "$export_ms" "$rows_portable_ms") |"
echo "| erase (one person, apply, then VACUUM) | $erase_ms ms | $erase_sql_ms ms (the same deletes, then VACUUM) | $(ratio "$erase_ms" "$erase_sql_ms") |"
echo "| export --batch ($batch rows, $batch_done archives) | $batch_s s = $batch_rate people/s | | |"
echo "| retention: server-logs rule ($removed of $expired rows) | $ret_rule_ms ms = $(rate "$removed" "$ret_rule_ms") rows/s | $ret_sql_ms ms = $(rate "$expired" "$ret_sql_ms") rows/s (one DELETE) | $(ratio "$(rate "$removed" "$ret_rule_ms")" "$(rate "$expired" "$ret_sql_ms")") of the raw speed |"
echo "| retention run, whole (every rule, then VACUUM) | $ret_ms ms | $ret_sql_vacuum_ms ms (the DELETE, then VACUUM) | |"
echo
echo "Server settings:"
for s in shared_buffers work_mem effective_cache_size synchronous_commit fsync max_wal_size; do
  echo "- $s = $(psql_ -A -t -c "SHOW $s")"
done
psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
