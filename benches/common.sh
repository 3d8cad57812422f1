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

# ratio A B: A / B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
