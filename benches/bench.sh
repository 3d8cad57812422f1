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

lookup_ms=$(time_each "$dsr" --db "$db" --json lookup --customer '{}')
lookup_sql_ms=$(time_each bash -c 'lookup_sql {}')
lookup_mem=$(peak_kib "$dsr" --db "$db" --json lookup --customer G00000001)

size=$(du -h "$db" | cut -f1)
echo
echo "Store: $customers customers, ~$log_lines log lines and ~$ip_events IP events each ($size); median of $runs runs, whole processes."
echo
echo "| command | dsr (ms) | SQL lower bound (ms) | ratio | peak memory (KiB) |"
echo "|---|---|---|---|---|"
ratio=$(awk -v a="$lookup_ms" -v b="$lookup_sql_ms" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "| lookup --customer | $lookup_ms | $lookup_sql_ms | $ratio | $lookup_mem |"
