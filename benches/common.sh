# What benches/bench.sh and benches/pg.sh share (sourced; `customers`, `log_lines`, `ip_events`
# and `runs` set by the caller): the release build, the generated store cached under
# target/bench/ (`$db`), and the timing helpers.

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

# microseconds on stdin as milliseconds with one decimal
us_to_ms() { awk '{ printf "%.1f", $1 / 1000 }'; }

# time_pair PREP RUN CMD...: a dsr command and its SQL lower bound, alternately, `runs` times,
# for the next customer each time: CMD ({} replaced by the i-th of the array `ids` when it is not
# empty, else by the customer number), then `PREP CUSTOMER` (untimed: it leaves the statements in
# $sql) and `RUN` (the lower bound, running $sql). Only the two commands are timed, with bash's
# own clock (EPOCHREALTIME: no process is started to read the time), and alternating them keeps
# a slow moment of the machine from falling on one side only. Prints both medians in ms: "DSR SQL".
ids=()
time_pair() {
  local prep=$1 run=$2; shift 2
  local a=() b=() i
  for i in $(seq 1 "$runs"); do
    local n=$(( (i * 7919) % customers + 1 ))
    local id; id=$(printf 'G%08d' "$n")
    local arg=$id
    [ ${#ids[@]} -gt 0 ] && arg=${ids[$((i - 1))]}
    local cmd=("${@//\{\}/$arg}")
    local t0=${EPOCHREALTIME/./}
    "${cmd[@]}" >/dev/null
    local t1=${EPOCHREALTIME/./}
    a+=($((t1 - t0)))
    "$prep" "$id"
    t0=${EPOCHREALTIME/./}
    "$run" >/dev/null
    t1=${EPOCHREALTIME/./}
    b+=($((t1 - t0)))
  done
  echo "$(printf '%s\n' "${a[@]}" | median | us_to_ms) $(printf '%s\n' "${b[@]}" | median | us_to_ms)"
}

# ratio A B: A / B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# The SQL lower bounds, as text the sqlite3 shell and psql both run, left in $sql (no subshell:
# the text is made inside the timed command).

# lookup_counts_sql ID: the counts of `lookup --customer`, table by table.
lookup_counts_sql() {
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
  sql=$q
}

# person_rows_sql ID PORTABLE: every row of the customer's person, table by table, as dsr reads
# them for an access answer (PORTABLE=1: the tables an Art. 20 export holds).
person_rows_sql() {
  local id=$1 portable=$2
  local p="(SELECT person_id FROM customer WHERE customer_number = '$id')"
  local c="(SELECT id FROM customer WHERE customer_number = '$id')"
  local q="SELECT * FROM person WHERE id IN $p; SELECT * FROM customer WHERE id IN $c;"
  for t in company login_account ip_event web_session payment_method quote invoice service domain; do q+="SELECT * FROM $t WHERE customer_id IN $c;"; done
  for t in email_address phone_number application cookie consent crash_report ticket; do q+="SELECT * FROM $t WHERE person_id IN $p;"; done
  q+="SELECT * FROM server_log WHERE session_id IN (SELECT id FROM web_session WHERE customer_id IN $c);"
  q+="SELECT * FROM payment WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $c);"
  [ "$portable" = 1 ] || q+="SELECT * FROM dunning_event WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $c); SELECT * FROM disclosure WHERE person_id IN $p;"
  sql=$q
}

# erase_sql ID: the deletes and updates of the customer's erasure, as dsr's plan makes them
# (inside the caller's transaction): the company's tables, and dsr's records of the person that
# every erasure clears (officers' notes and corrections of their requests; the requests keep only
# their pseudonym).
erase_sql() {
  local id=$1
  local c="(SELECT id FROM customer WHERE customer_number = '$id')"
  local p="(SELECT person_id FROM customer WHERE customer_number = '$id')"
  sql="DELETE FROM unsolicited_data WHERE ticket_message_id IN (SELECT id FROM ticket_message WHERE ticket_id IN (SELECT id FROM ticket WHERE person_id IN $p));
    DELETE FROM ticket_message WHERE ticket_id IN (SELECT id FROM ticket WHERE person_id IN $p);
    DELETE FROM ticket WHERE person_id IN $p; DELETE FROM consent WHERE person_id IN $p; DELETE FROM cookie WHERE person_id IN $p;
    DELETE FROM server_log WHERE session_id IS NULL AND ip IN (SELECT ip FROM ip_event WHERE customer_id IN $c UNION SELECT ip FROM web_session WHERE customer_id IN $c);
    DELETE FROM server_log WHERE session_id IN (SELECT id FROM web_session WHERE customer_id IN $c);
    DELETE FROM web_session WHERE customer_id IN $c; DELETE FROM ip_event WHERE customer_id IN $c;
    UPDATE payment SET payment_method_id = NULL WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $c);
    DELETE FROM dunning_event WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id IN $c);
    DELETE FROM quote WHERE customer_id IN $c; UPDATE invoice SET customer_id = NULL WHERE customer_id IN $c;
    DELETE FROM payment_method WHERE customer_id IN $c; DELETE FROM domain WHERE customer_id IN $c;
    DELETE FROM service WHERE customer_id IN $c; DELETE FROM login_account WHERE customer_id IN $c;
    DELETE FROM crash_report WHERE person_id IN $p; DELETE FROM email_address WHERE person_id IN $p; DELETE FROM phone_number WHERE person_id IN $p;
    DELETE FROM free_text WHERE request_id IN (SELECT id FROM request WHERE person_id IN $p);
    DELETE FROM rectified WHERE request_id IN (SELECT id FROM request WHERE person_id IN $p);
    UPDATE request SET subject_given = NULL, params = '{}', outcome = NULL, extension_reason = CASE WHEN extension_reason IS NULL THEN NULL ELSE '(erased)' END,
      rejection_note = NULL, verification_ref = NULL, delivery_ref = NULL, person_id = NULL WHERE person_id IN $p;
    CREATE TEMP TABLE gone AS SELECT person_id FROM customer WHERE customer_number = '$id';
    DELETE FROM customer WHERE customer_number = '$id'; DELETE FROM person WHERE id IN (SELECT person_id FROM gone);"
}
export -f lookup_counts_sql person_rows_sql erase_sql
