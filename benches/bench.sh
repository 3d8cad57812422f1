#!/usr/bin/env bash
# Benchmark dsr on a generated store (see docs/benchmarks.md).
#
#   benches/bench.sh [CUSTOMERS] [LOG_LINES] [IP_EVENTS]
#
# Builds (once, cached under target/bench/) a deterministic store of CUSTOMERS customers
# (default 1,000,000) with `dsr generate`, then times whole `dsr` processes against the
# lower bound of the same reads done by hand-written SQL in one rusqlite-free sqlite3 process,
# and prints a Markdown table. Peak memory comes from /usr/bin/time -v when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

customers=${1:-1000000}
log_lines=${2:-200}
ip_events=${3:-50}
runs=${RUNS:-30}
export DSR_NOW=2026-11-01T00:00:00Z

cargo build --release --quiet
dsr=$PWD/target/release/dsr
dir=$PWD/target/bench
mkdir -p "$dir"
db=$dir/store-$customers-$log_lines-$ip_events.sqlite
if [ ! -f "$db" ]; then
  echo "generating $db ..." >&2
  "$dsr" --db "$db" generate --customers "$customers" --log-lines "$log_lines" --ip-events "$ip_events" >&2
fi

now_ms() { date +%s%3N; }

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# time_cmd NAME CMD...: run `runs` times with a different customer each time ({} is replaced)
time_each() {
  local samples=()
  for i in $(seq 1 "$runs"); do
    local n=$(( (i * 7919) % customers + 1 ))
    local id; id=$(printf 'G%08d' "$n")
    local cmd=("${@//\{\}/$id}")
    local t0; t0=$(now_ms)
    "${cmd[@]}" >/dev/null
    local t1; t1=$(now_ms)
    samples+=($((t1 - t0)))
  done
  printf '%s\n' "${samples[@]}" | median
}

peak_kib() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}'
  else
    echo "n/a"
  fi
}

lookup_sql() {
  local id=$1
  local sub="(SELECT person_id FROM customer WHERE customer_number = '$id')"
  local cust="(SELECT id FROM customer WHERE customer_number = '$id')"
  local q="SELECT count(*) FROM email_address WHERE person_id IN $sub;"
  for t in company login_account ip_event web_session payment_method quote invoice service domain; do
    q+="SELECT count(*) FROM $t WHERE customer_id IN $cust;"
  done
  for t in phone_number application cookie consent crash_report ticket disclosure; do
    q+="SELECT count(*) FROM $t WHERE person_id IN $sub;"
  done
  q+="SELECT count(*) FROM server_log WHERE session_id IN (SELECT id FROM web_session WHERE customer_id IN $cust);"
  q+="SELECT count(*) FROM payment WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $cust);"
  q+="SELECT count(*) FROM dunning_event WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $cust);"
  sqlite3 "$db" "$q"
}
export -f lookup_sql
export db

# Verified requests for the one-person commands: access requests through the real email flow
# (code read from the outbox), export requests through a batch (verified by portal session).
prep=$dir/prep-$customers
rm -rf "$prep" && mkdir -p "$prep"
export DSR_MAIL=outbox
work=$dir/work-$customers
rm -rf "$work" && mkdir -p "$work"
cp "$db" "$work/store.sqlite"
wdb=$work/store.sqlite
access_ids=()
for i in $(seq 1 "$runs"); do
  n=$(( (i * 7919) % customers + 1 )); id=$(printf 'G%08d' "$n")
  req=$("$dsr" --db "$wdb" --json access --customer "$id" | sed -n 's/.*"request": "\(DSR-[0-9-]*\)".*/\1/p')
  code=$(tr -d '\r' < "$work/outbox/$req-001.eml" | grep -E '^ *[0-9A-Z]{4}-[0-9A-Z]{4} *$' | head -1 | tr -d ' ')
  "$dsr" --db "$wdb" verify "$req" "$code" >/dev/null
  access_ids+=("$req")
done
{ echo "customer,verified_by,reference"; for i in $(seq 1 "$runs"); do printf 'G%08d,bench,%d\n' $(( (i * 7919) % customers + 1 )) "$i"; done; } > "$prep/one.csv"
"$dsr" --db "$wdb" -q export --batch "$prep/one.csv" --out-dir "$prep/one" >/dev/null
mapfile -t export_ids < <(sqlite3 "$wdb" "SELECT id FROM request WHERE kind = 'export' ORDER BY seq")

time_list() { # time_list CMD-WITH-{}... over the ids in $ids
  local samples=()
  for id in "${ids[@]}"; do
    local cmd=("${@//\{\}/$id}")
    local t0; t0=$(now_ms); "${cmd[@]}" >/dev/null; local t1; t1=$(now_ms)
    samples+=($((t1 - t0)))
  done
  printf '%s\n' "${samples[@]}" | median
}

# The same rows read by hand-written SQL: every table of the person, as dsr reads them.
rows_sql() {
  local id=$1 portable=$2
  local p="(SELECT person_id FROM customer WHERE customer_number = '$id')"
  local c="(SELECT id FROM customer WHERE customer_number = '$id')"
  local q="SELECT * FROM person WHERE id IN $p; SELECT * FROM customer WHERE id IN $c;"
  for t in company login_account ip_event web_session payment_method quote invoice service domain; do q+="SELECT * FROM $t WHERE customer_id IN $c;"; done
  for t in email_address phone_number application cookie consent crash_report ticket; do q+="SELECT * FROM $t WHERE person_id IN $p;"; done
  q+="SELECT * FROM server_log WHERE session_id IN (SELECT id FROM web_session WHERE customer_id IN $c);"
  q+="SELECT * FROM payment WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $c);"
  [ "$portable" = 1 ] || q+="SELECT * FROM dunning_event WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $c); SELECT * FROM disclosure WHERE person_id IN $p;"
  sqlite3 -json "$wdb" "$q"
}
export -f rows_sql
export wdb

lookup_ms=$(time_each "$dsr" --db "$db" --json lookup --customer '{}')
lookup_sql_ms=$(time_each bash -c 'lookup_sql {}')
lookup_mem=$(peak_kib "$dsr" --db "$db" --json lookup --customer G00000001)

ids=("${access_ids[@]}")
access_ms=$(time_list "$dsr" --db "$wdb" --json access '{}')
access_mem=$(peak_kib "$dsr" --db "$wdb" --json access "${access_ids[0]}")
ids=("${export_ids[@]}")
export_ms=$(time_list "$dsr" --db "$wdb" -q export '{}' --out "$prep/x.zip" --force)
export_mem=$(peak_kib "$dsr" --db "$wdb" -q export "${export_ids[0]}" --out "$prep/x.zip" --force)
rows_ms=$(time_each bash -c 'rows_sql {} 0')
rows_portable_ms=$(time_each bash -c 'rows_sql {} 1')

# Batch export of BATCH people (default 10,000), verified by portal session.
batch=${BATCH:-10000}
{ echo "customer,verified_by,reference"; for i in $(seq 1 "$batch"); do printf 'G%08d,portal-session,b%d\n' $(( (i * 104729) % customers + 1 )) "$i"; done; } > "$prep/batch.csv"
t0=$(now_ms)
if [ -x /usr/bin/time ]; then
  batch_mem=$(/usr/bin/time -v "$dsr" --db "$wdb" -q export --batch "$prep/batch.csv" --out-dir "$prep/batch" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}')
else
  "$dsr" --db "$wdb" -q export --batch "$prep/batch.csv" --out-dir "$prep/batch" >/dev/null; batch_mem=n/a
fi
t1=$(now_ms)
batch_s=$(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')
batch_rate=$(awk -v n="$batch" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ms / 1000) }')

size=$(du -h "$db" | cut -f1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "Store: $customers customers, ~$log_lines log lines and ~$ip_events IP events each ($size); median of $runs runs, whole processes, $(nproc) cores."
echo
echo "| command | dsr | SQL lower bound | ratio | peak memory (KiB) |"
echo "|---|---|---|---|---|"
echo "| lookup --customer | $lookup_ms ms | $lookup_sql_ms ms | $(ratio "$lookup_ms" "$lookup_sql_ms") | $lookup_mem |"
echo "| access --json (one person) | $access_ms ms | $rows_ms ms | $(ratio "$access_ms" "$rows_ms") | $access_mem |"
echo "| export --out (one person) | $export_ms ms | $rows_portable_ms ms | $(ratio "$export_ms" "$rows_portable_ms") | $export_mem |"
echo "| export --batch ($batch people) | $batch_s s = $batch_rate people/s | | | $batch_mem |"
