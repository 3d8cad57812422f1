#!/usr/bin/env bash
# Benchmark `dsr import` against the sqlite3 shell's `.import` (see docs/benchmarks.md).
#
#   benches/import.sh [ROWS]
#
# Generates (once, cached under target/bench/) a store with `dsr generate`, writes ROWS
# (default 10,000,000) of its server-log lines as CSV, empties the table in two copies of the
# store, and loads the CSV into one with `dsr import server_log` (checked, upserted on the key,
# times normalised, with foreign keys on) and into the other with the sqlite3 shell's `.import`
# (no checks, foreign keys off: the raw lower bound), both into the same table with the same
# indexes. Then it loads the same file again with dsr (every row unchanged). Prints a Markdown
# table; peak memory from /usr/bin/time -v when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

rows=${1:-10000000}
# Enough customers for ROWS log lines at 100 a customer.
customers=$(( rows / 90 + 1000 ))
export DSR_NOW=2026-11-01T00:00:00Z

cargo build --release --quiet
dsr=$PWD/target/release/dsr
dir=$PWD/target/bench
mkdir -p "$dir"
db=$dir/store-$customers-100-5.sqlite
if [ ! -f "$db" ]; then
  echo "generating $db ..." >&2
  "$dsr" --db "$db" generate --customers "$customers" --log-lines 100 --ip-events 5 >&2
fi
work=$dir/import-$rows
rm -rf "$work"; mkdir -p "$work"
csv=$work/server_log.csv
# Lines with every field set: the shell's .import stores an empty field as '' (refused in the
# STRICT table's INTEGER session_id), where dsr stores NULL; so both get rows without empties.
sqlite3 -csv -header "$db" "SELECT id, logged_at, ip, user_agent, method, path, status, session_id FROM server_log
  WHERE session_id IS NOT NULL AND user_agent IS NOT NULL ORDER BY id LIMIT $rows" > "$csv"
lines=$(( $(wc -l < "$csv") - 1 ))
echo "$lines rows, $(du -m "$csv" | cut -f1) MB of CSV" >&2

for copy in dsr raw; do
  cp "$db" "$work/$copy.sqlite"
  sqlite3 "$work/$copy.sqlite" "DELETE FROM server_log; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
done

now_ms() { date +%s%3N; }
peak_kib() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$work/mem" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    cat "$work/mem"
  else
    "$@" >/dev/null; echo "-"
  fi
}

# Both start from files just written: drop nothing, read the CSV once so both find it cached.
cat "$csv" > /dev/null
t0=$(now_ms); raw_mem=$(peak_kib sqlite3 "$work/raw.sqlite" ".import --csv --skip 1 $csv server_log"); t1=$(now_ms)
raw_ms=$((t1 - t0))
t0=$(now_ms); dsr_mem=$(peak_kib "$dsr" --db "$work/dsr.sqlite" -q import server_log "$csv"); t1=$(now_ms)
dsr_ms=$((t1 - t0))
t0=$(now_ms); again_mem=$(peak_kib "$dsr" --db "$work/dsr.sqlite" -q import server_log "$csv"); t1=$(now_ms)
again_ms=$((t1 - t0))

# Both loads hold the same rows: the shell's count, and dsr's rows it lacks.
same=$(sqlite3 "$work/dsr.sqlite" "ATTACH '$work/raw.sqlite' AS raw;
  SELECT (SELECT count(*) FROM raw.server_log), count(*) FROM (SELECT * FROM main.server_log EXCEPT SELECT * FROM raw.server_log)")
rate() { awk -v n="$lines" -v ms="$1" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }
echo "| load of $lines server-log rows | time | rows/s | peak memory (KiB) |"
echo "|---|---|---|---|"
echo "| sqlite3 .import (raw, no checks) | $raw_ms ms | $(rate "$raw_ms") | $raw_mem |"
echo "| dsr import, first load | $dsr_ms ms | $(rate "$dsr_ms") | $dsr_mem |"
echo "| dsr import, same file again (all unchanged) | $again_ms ms | $(rate "$again_ms") | $again_mem |"
echo
echo "dsr at $(awk -v a="$raw_ms" -v b="$dsr_ms" 'BEGIN { printf "%.0f", 100 * a / b }')% of the raw speed; rows in the raw load | rows of dsr's not in it: $same"
[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
