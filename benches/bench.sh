#!/usr/bin/env bash
# Benchmark dsr on a generated store (see docs/benchmarks.md).
#
#   benches/bench.sh [CUSTOMERS] [LOG_LINES] [IP_EVENTS]
#
# Builds (once, cached under target/bench/) a deterministic store of CUSTOMERS customers
# (default 1,000,000) with `dsr generate`, then times whole `dsr` processes against the
# lower bound of the same reads done by hand-written SQL in one rusqlite-free sqlite3 process
# (the two alternately, timed by bash's own clock),
# and prints a Markdown table. Peak memory comes from /usr/bin/time -v when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

customers=${1:-1000000}
log_lines=${2:-200}
ip_events=${3:-50}
runs=${RUNS:-30}
source benches/common.sh

peak_kib() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}'
  else
    echo "n/a"
  fi
}

# The lower bounds' runners: the statements person_rows_sql or lookup_counts_sql left in $sql.
run_sql() { sqlite3 "$cdb" "$sql"; }
run_sql_json() { sqlite3 -json "$cdb" "$sql"; }
rows_all() { person_rows_sql "$1" 0; }
rows_portable() { person_rows_sql "$1" 1; }

# Verified requests for the one-person commands: access requests through the real email flow
# (code read from the outbox), export requests through a batch (verified by portal session).
prep=$dir/prep-$customers
work=$dir/work-$customers
export DSR_MAIL=outbox
# On ext4 without a journal (this project's benchmark machine: /sys/fs/ext4/DEV/journal_task is
# "<none>") the kernel gives a new file the first free inode that was not freed in the last five
# minutes, reading each one it passes over: every file a timed command creates (SQLite's -wal and
# -shm, a letter, an archive) then pays for each file removed shortly before, some milliseconds
# after 10,000 archives. A run removes its files at its end; the next one removes what a killed
# run left, and waits, on such a file system, until the files removed last are five minutes old.
stamp=$dir/.removed-at
mark_removed() { date +%s > "$stamp"; }
journalless() {
  local dev; dev=$(df --output=source "$dir" | tail -1)
  [ "$(cat "/sys/fs/ext4/$(basename "$dev")/journal_task" 2>/dev/null)" = "<none>" ]
}
if [ -e "$prep" ] || [ -e "$work" ]; then rm -rf "$prep" "$work"; mark_removed; fi
if [ -f "$stamp" ] && journalless; then
  left=$(( $(cat "$stamp") + 300 - $(date +%s) ))
  if [ "$left" -gt 0 ]; then
    echo "waiting ${left} s for the files removed last to be five minutes old (ext4 without a journal) ..." >&2
    sleep "$left"
  fi
fi
mkdir -p "$prep" "$work"
cp "$db" "$work/store.sqlite"
# The copy written out before anything is timed: while the kernel writes 10 GB of it back, every
# sync a timed command makes waits in the disk's queue behind it (an access took 17 ms instead of 6).
sync "$work/store.sqlite"
wdb=$work/store.sqlite
# cdb: the file with the company's tables. ATTACHED=1 makes the copy the company's own database
# and a new dsr store that attaches it (`[[database]]`, every table of the map placed in it):
# dsr then works on it in place, and the SQL lower bounds read and delete in that file.
cdb=$wdb
if [ "${ATTACHED:-0}" = 1 ]; then
  mv "$wdb" "$work/company.sqlite"; cdb=$work/company.sqlite
  "$dsr" --db "$cdb" register export > "$work/company.toml"
  sed -e '/^\[\[table\]\]$/{n;s/^name = .*/&\ndatabase = "company"/}' "$work/company.toml" > "$work/attached.toml"
  printf '\n[[database]]\nname = "company"\npath = "company.sqlite"\n' >> "$work/attached.toml"
  "$dsr" --db "$wdb" init --register "$work/attached.toml" >&2
fi
# Every figure is taken with the store in the page cache, as on a server whose store fits in
# memory: the generated store's pages are dropped from the cache (only its copy is used from here
# on) and the copy just written is read once (the kernel had dropped most of it), so dsr and the
# SQL lower bounds alike measure work, not the disk.
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$db"
cat "$cdb" > /dev/null
access_ids=()
for i in $(seq 1 "$runs"); do
  n=$(( (i * 7919) % customers + 1 )); id=$(printf 'G%08d' "$n")
  req=$("$dsr" --db "$wdb" --json access --customer "$id" | sed -n 's/.*"request": "\(DSR-[0-9-]*\)".*/\1/p')
  code=$(tr -d '\r' < "$(ls "$work"/outbox/"$req"-*.eml | tail -1)" | grep -E '^ *[0-9A-Z]{4}-[0-9A-Z]{4} *$' | head -1 | tr -d ' ')
  "$dsr" --db "$wdb" verify "$req" "$code" >/dev/null
  access_ids+=("$req")
done
{ echo "customer,verified_by,reference"; for i in $(seq 1 "$runs"); do printf 'G%08d,bench,%d\n' $(( (i * 7919) % customers + 1 )) "$i"; done; } > "$prep/one.csv"
"$dsr" --db "$wdb" -q export --batch "$prep/one.csv" --out-dir "$prep/one" >/dev/null
mapfile -t export_ids < <(sqlite3 "$wdb" "SELECT id FROM request WHERE kind = 'export' ORDER BY seq")

# The host may drop cached pages of the store while the benchmark runs (a virtual machine's
# memory is reclaimed): each part is preceded by reading the store again.
warm() { cat "$cdb" > /dev/null; }

# Each dsr command alternately with the same rows read by hand-written SQL (every table of the
# person, as dsr reads them), for the same person.
warm
ids=()
read -r lookup_ms lookup_sql_ms < <(time_pair lookup_counts_sql run_sql "$dsr" --db "$wdb" --json lookup --customer '{}')
lookup_mem=$(peak_kib "$dsr" --db "$wdb" --json lookup --customer G00000001)

warm
ids=("${access_ids[@]}")
read -r access_ms rows_ms < <(time_pair rows_all run_sql_json "$dsr" --db "$wdb" --json access '{}')
access_mem=$(peak_kib "$dsr" --db "$wdb" --json access "${access_ids[0]}")
warm
ids=("${export_ids[@]}")
read -r export_ms rows_portable_ms < <(time_pair rows_portable run_sql_json "$dsr" --db "$wdb" -q export '{}' --out "$prep/x.zip" --force)
export_mem=$(peak_kib "$dsr" --db "$wdb" -q export "${export_ids[0]}" --out "$prep/x.zip" --force)

# Batch export of BATCH people (default 10,000), verified by portal session.
batch=${BATCH:-10000}
{ echo "customer,verified_by,reference"; for i in $(seq 1 "$batch"); do printf 'G%08d,portal-session,b%d\n' $(( (i * 104729) % customers + 1 )) "$i"; done; } > "$prep/batch.csv"
warm
t0=$(now_ms)
if [ -x /usr/bin/time ]; then
  batch_mem=$(/usr/bin/time -v "$dsr" --db "$wdb" -q export --batch "$prep/batch.csv" --out-dir "$prep/batch" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}')
else
  "$dsr" --db "$wdb" -q export --batch "$prep/batch.csv" --out-dir "$prep/batch" >/dev/null; batch_mem=n/a
fi
t1=$(now_ms)
# The archives stay until the run ends (see `mark_removed` above): removed now, they would slow every
# file the later timed commands create.
batch_s=$(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')
batch_rate=$(awk -v n="$batch" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ms / 1000) }')

# check --stdin over 1,000,000 addresses (customers' primary addresses, repeated as needed).
lines=${CHECK_LINES:-1000000}
sqlite3 "$cdb" "SELECT address FROM email_address WHERE is_primary = 1 LIMIT $lines" > "$prep/emails.txt"
# (awk, not cat | head: under pipefail the SIGPIPE of a cut-off cat would fail the pipeline)
awk -v n="$lines" '{ a[NR] = $0 } END { for (i = 0; i < n; i++) print a[i % NR + 1] }' "$prep/emails.txt" > "$prep/e2" && mv "$prep/e2" "$prep/emails.txt"
# Throughput with the store's pages in memory, for both: the working copy was just written, so
# the pages an address lookup needs may still be on disk; each side runs once untimed, then the
# median of three timed runs counts.
check_run() { "$dsr" --db "$wdb" -q check --purpose newsletter --stdin < "$prep/emails.txt" > "$prep/allowed.txt"; }
# Lower bound: the same lookups set-based in the sqlite3 shell (import, join on the index, latest consent).
check_sql_run() {
  sqlite3 "$cdb" <<SQL >/dev/null
CREATE TEMP TABLE l(address TEXT);
.mode list
.import $prep/emails.txt l
SELECT count(*) FROM l JOIN email_address e ON e.address_norm = lower(l.address)
  WHERE coalesce((SELECT granted FROM consent c WHERE c.person_id = e.person_id AND c.purpose = 'newsletter' ORDER BY recorded_at DESC LIMIT 1), e.newsletter_opt_in) = 1;
SQL
}
warm
check_run; check_sql_run
check_samples=(); check_sql_samples=()
for i in 1 2 3; do
  t0=$(now_ms); check_run; t1=$(now_ms); check_samples+=($((t1 - t0)))
  t0=$(now_ms); check_sql_run; t1=$(now_ms); check_sql_samples+=($((t1 - t0)))
done
check_ms=$(printf '%s\n' "${check_samples[@]}" | median)
check_rate=$(awk -v n="$lines" -v ms="$check_ms" 'BEGIN { printf "%.0f", n / (ms / 1000) }')
check_mem=$(peak_kib "$dsr" --db "$wdb" -q check --purpose newsletter --stdin < "$prep/emails.txt")
check_sql_ms=$(printf '%s\n' "${check_sql_samples[@]}" | median)

# Erasure of one person (apply), on the working copy: dsr versus the same deletes by hand.
erase_samples=(); erase_sql_samples=()
warm
for i in $(seq 1 10); do
  n=$(( (i * 15485863) % customers + 1 )); id=$(printf 'G%08d' "$n")
  req=$("$dsr" --db "$wdb" --json erase --customer "$id" | sed -n 's/.*"request": "\(DSR-[0-9-]*\)".*/\1/p')
  code=$(tr -d '\r' < "$(ls "$work"/outbox/"$req"-*.eml | tail -1)" | grep -E '^ *[0-9A-Z]{4}-[0-9A-Z]{4} *$' | head -1 | tr -d ' ')
  "$dsr" --db "$wdb" verify "$req" "$code" >/dev/null
  t0=${EPOCHREALTIME/./}; "$dsr" --db "$wdb" -q erase "$req" --yes >/dev/null; t1=${EPOCHREALTIME/./}
  erase_samples+=($((t1 - t0)))
  n2=$(( (i * 32452843) % customers + 1 )); id2=$(printf 'G%08d' "$n2")
  erase_sql "$id2"
  t0=${EPOCHREALTIME/./}
  sqlite3 "$cdb" "PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON; BEGIN IMMEDIATE; $sql
    COMMIT; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
  t1=${EPOCHREALTIME/./}
  erase_sql_samples+=($((t1 - t0)))
done
erase_ms=$(printf '%s\n' "${erase_samples[@]}" | median | us_to_ms)
erase_sql_ms=$(printf '%s\n' "${erase_sql_samples[@]}" | median | us_to_ms)

# Retention: server logs older than 6 months, on two fresh copies: dsr versus one raw DELETE.
# RETENTION=0 leaves it out (it takes most of a run at 1,000,000 customers).
if [ "${RETENTION:-1}" = 0 ]; then
  ret_ms=skipped ret_sql_ms=skipped ret_rate=- ret_sql_rate=- ret_mem=- ret_rule_ms=skipped removed=0 expired=0
else
ret_now=${RETENTION_NOW:-2027-01-15T00:00:00Z}
cut=$(date -u -d "${ret_now} -6 months" +%Y-%m-%dT%H:%M:%SZ)
cp "$db" "$work/ret-dsr.sqlite"; sqlite3 "$work/ret-dsr.sqlite" "PRAGMA journal_mode=WAL;" >/dev/null
expired=$(sqlite3 "$work/ret-dsr.sqlite" "SELECT count(*) FROM server_log WHERE logged_at < '$cut'")
t0=$(now_ms)
if [ -x /usr/bin/time ]; then
  ret_mem=$(DSR_NOW=$ret_now /usr/bin/time -v "$dsr" --db "$work/ret-dsr.sqlite" -q --json retention run 2>&1 >"$work/ret.json" | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}')
else
  DSR_NOW=$ret_now "$dsr" --db "$work/ret-dsr.sqlite" -q --json retention run >"$work/ret.json" 2>/dev/null; ret_mem=n/a
fi
# The server-logs rule alone (the same rows as the raw DELETE below), from the run's own timing.
ret_rule_ms=$(python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1]))["rules"] if x["rule"]=="server-logs"][0]; print(round(r["seconds"]*1000))' "$work/ret.json")
t1=$(now_ms)
ret_ms=$((t1 - t0))
removed=$(( expired - $(sqlite3 "$work/ret-dsr.sqlite" "SELECT count(*) FROM server_log WHERE logged_at < '$cut'") ))
rm -f "$work/ret-dsr.sqlite"*
cp "$db" "$work/ret-sql.sqlite"
t0=$(now_ms)
sqlite3 "$work/ret-sql.sqlite" "PRAGMA journal_mode=WAL; PRAGMA secure_delete=ON; PRAGMA synchronous=NORMAL; DELETE FROM server_log WHERE logged_at < '$cut'; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
t1=$(now_ms)
ret_sql_ms=$((t1 - t0))
rm -f "$work/ret-sql.sqlite"*
ret_rate=$(awk -v n="$removed" -v ms="$ret_ms" 'BEGIN { printf "%.0f", n / (ms / 1000) }')
ret_sql_rate=$(awk -v n="$expired" -v ms="$ret_sql_ms" 'BEGIN { printf "%.0f", n / (ms / 1000) }')

fi

# One person with 1,000,000 log lines: peak memory of access --json, export and erase.
big=$(printf 'G%08d' 777)
sqlite3 "$cdb" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
  INSERT INTO server_log (logged_at, ip, user_agent, method, path, status, session_id)
  SELECT '2026-10-01T10:00:00Z', '10.0.3.9', 'Mozilla/5.0 (X11; Linux x86_64)', 'GET', '/panel/' || (i % 97), 200,
         (SELECT s.id FROM web_session s JOIN customer c ON c.id = s.customer_id WHERE c.customer_number = '$big' LIMIT 1) FROM n;"
req=$("$dsr" --db "$wdb" --json access --customer "$big" | sed -n 's/.*"request": "\(DSR-[0-9-]*\)".*/\1/p')
code=$(tr -d '\r' < "$(ls "$work"/outbox/"$req"-*.eml | tail -1)" | grep -E '^ *[0-9A-Z]{4}-[0-9A-Z]{4} *$' | head -1 | tr -d ' ')
"$dsr" --db "$wdb" verify "$req" "$code" >/dev/null
t0=$(now_ms); big_access_mem=$(peak_kib "$dsr" --db "$wdb" --json access "$req"); t1=$(now_ms); big_access_ms=$((t1 - t0))
{ echo "customer,verified_by,reference"; echo "$big,bench,big"; } > "$prep/big.csv"
t0=$(now_ms); big_export_mem=$(peak_kib "$dsr" --db "$wdb" -q export --batch "$prep/big.csv" --out-dir "$prep/big"); t1=$(now_ms); big_export_ms=$((t1 - t0))
# Both answers handed over: an access or export answer still owed holds the person's erasure back.
"$dsr" --db "$wdb" -q request delivered "$req" --channel portal --ref bench >/dev/null
"$dsr" --db "$wdb" -q request delivered "$(sqlite3 "$wdb" "SELECT id FROM request WHERE kind = 'export' ORDER BY year DESC, seq DESC LIMIT 1")" --channel portal --ref bench >/dev/null
req=$("$dsr" --db "$wdb" --json erase --customer "$big" | sed -n 's/.*"request": "\(DSR-[0-9-]*\)".*/\1/p')
code=$(tr -d '\r' < "$(ls "$work"/outbox/"$req"-*.eml | tail -1)" | grep -E '^ *[0-9A-Z]{4}-[0-9A-Z]{4} *$' | head -1 | tr -d ' ')
"$dsr" --db "$wdb" verify "$req" "$code" >/dev/null
t0=$(now_ms); big_erase_mem=$(peak_kib "$dsr" --db "$wdb" -q erase "$req" --yes); t1=$(now_ms); big_erase_ms=$((t1 - t0))

size=$(du -h "$db" | cut -f1)
echo
echo "Store: $customers customers, ~$log_lines log lines and ~$ip_events IP events each ($size); median of $runs runs, whole processes, $(nproc) cores."
echo
echo "| command | dsr | SQL lower bound | ratio | peak memory (KiB) |"
echo "|---|---|---|---|---|"
echo "| lookup --customer | $lookup_ms ms | $lookup_sql_ms ms | $(ratio "$lookup_ms" "$lookup_sql_ms") | $lookup_mem |"
echo "| access --json (one person) | $access_ms ms | $rows_ms ms | $(ratio "$access_ms" "$rows_ms") | $access_mem |"
echo "| export --out (one person) | $export_ms ms | $rows_portable_ms ms | $(ratio "$export_ms" "$rows_portable_ms") | $export_mem |"
echo "| export --batch ($batch people) | $batch_s s = $batch_rate people/s | | | $batch_mem |"
echo "| check --stdin ($lines lines) | $check_ms ms = $check_rate lines/s | $check_sql_ms ms (set-based join) | $(ratio "$check_ms" "$check_sql_ms") | $check_mem |"
echo "| person with 1,000,000 log lines: access --json | $big_access_ms ms | | | $big_access_mem |"
echo "| person with 1,000,000 log lines: export (batch of one) | $big_export_ms ms | | | $big_export_mem |"
echo "| person with 1,000,000 log lines: erase | $big_erase_ms ms | | | $big_erase_mem |"
echo "| erase (one person, apply) | $erase_ms ms | $erase_sql_ms ms | $(ratio "$erase_ms" "$erase_sql_ms") | |"
if [ "${RETENTION:-1}" = 0 ]; then
  echo "| retention run | skipped (RETENTION=0) | | | |"
else
  echo "| retention run ($removed expired log lines of $expired; all rules) | $ret_ms ms = $ret_rate rows/s | $ret_sql_ms ms = $ret_sql_rate rows/s (one DELETE) | $(ratio "$ret_ms" "$ret_sql_ms") | $ret_mem |"
  echo "| retention: the server-logs rule within that run | $ret_rule_ms ms = $(awk -v n="$removed" -v ms="$ret_rule_ms" 'BEGIN { printf "%.0f", n / (ms / 1000) }') rows/s | $ret_sql_ms ms (one DELETE) | $(ratio "$ret_rule_ms" "$ret_sql_ms") | |"
fi
rm -rf "$prep" "$work"
mark_removed
