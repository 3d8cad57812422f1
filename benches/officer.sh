#!/usr/bin/env bash
# Benchmark the officer's commands on a year of requests (issue 17; see docs/benchmarks.md).
#
#   benches/officer.sh [REQUESTS]        # default 1,000,000; RUNS=5 timed runs each
#
# Builds (once, cached under target/bench/) a `dsr init --fixture virtio` store holding
# REQUESTS requests received in 2025 and what the report reads besides them (benches/officer.sql,
# set-based SQL in the sqlite3 shell), then times whole `dsr` processes of the release build:
# `dsr report` as a table, --json, --csv and --html, and `dsr status --json` when the binary has
# that command. Prints the medians of the runs (wall and CPU time, ms) as a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

requests=${1:-1000000}
runs=${RUNS:-5}
command -v sqlite3 >/dev/null || { echo "officer.sh: sqlite3 not found (apt-get install sqlite3)" >&2; exit 1; }

cargo build --release --quiet
dsr=$PWD/target/release/dsr
dir=$PWD/target/bench
mkdir -p "$dir"
db=$dir/officer-$requests.sqlite
export DSR_NOW=2026-01-15T10:00:00Z
if [ ! -f "$db" ]; then
  echo "generating $db ..." >&2
  rm -f "$db.part"
  "$dsr" -q --db "$db.part" init --fixture virtio
  t0=$(date +%s)
  sqlite3 "$db.part" -cmd ".parameter set :n $requests" < benches/officer.sql >/dev/null
  mv "$db.part" "$db"
  echo "generated in $(( $(date +%s) - t0 )) s ($(du -h "$db" | cut -f1))" >&2
fi
export DSR_DB=$db
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# time_cmd CMD...: the median wall time of `runs` runs after one untimed run (the page cache),
# and with /usr/bin/time the median CPU time (user + system) beside it: on a machine shared with
# other work the wall time includes waiting for a core.
time_cmd() {
  # `status --json` exits non-zero when something is overdue: told, not fatal.
  "$@" >/dev/null 2>&1 || echo "officer.sh: exit $? from $*" >&2
  local walls=() cpus=()
  for _ in $(seq 1 "$runs"); do
    local t0; t0=$(now_ms)
    if [ -x /usr/bin/time ]; then
      cpus+=("$(/usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%d", ($1 + $2) * 1000}')")
    else
      "$@" >/dev/null 2>&1 || true
    fi
    walls+=($(( $(now_ms) - t0 )))
  done
  local wall; wall=$(printf '%s\n' "${walls[@]}" | median)
  if [ ${#cpus[@]} -gt 0 ]; then
    echo "$wall | $(printf '%s\n' "${cpus[@]}" | median)"
  else
    echo "$wall | n/a"
  fi
}

period=(--from 2025-01-01 --to 2025-12-31)
echo "| command ($requests requests, $runs runs, median) | wall ms | CPU ms |"
echo "|---|---|---|"
echo "| \`dsr report\` (tables) | $(time_cmd "$dsr" report "${period[@]}") |"
echo "| \`dsr report --json\` | $(time_cmd "$dsr" --json report "${period[@]}") |"
echo "| \`dsr report --csv\` | $(time_cmd "$dsr" report "${period[@]}" --csv) |"
echo "| \`dsr report --html FILE\` | $(time_cmd "$dsr" report "${period[@]}" --html "$work/report.html" --force) |"
if "$dsr" status --help >/dev/null 2>&1; then
  echo "| \`dsr status --json\` | $(time_cmd "$dsr" --json status) |"
else
  echo "| \`dsr status --json\` | not in this build | |"
fi
# The figures themselves, for the record.
"$dsr" report "${period[@]}" | head -12 >&2
