#!/usr/bin/env bash
# Headless-browser check of `dsr report --html` (issue 17): render the page of a year of requests
# (benches/officer.sql at a small size) in Debian's Chromium, check it shows both languages and
# both charts, that the browser logs no console error, and save a screenshot (to the work
# directory; with SCREENSHOT=FILE, e.g. SCREENSHOT=docs/report.png, also there).
#
#   tests/browser/check-report.sh          # needs chromium (apt-get install chromium) and python3
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=check-report
source tests/browser/render.sh
command -v python3 >/dev/null || { echo "check-report: python3 not found (apt-get install python3)" >&2; exit 1; }

cargo build --quiet
dsr=$PWD/target/debug/dsr
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DSR_DB=$work/dsr.sqlite DSR_NOW=2026-01-15T10:00:00Z
"$dsr" -q init --fixture virtio
# 3,000 requests of 2025 with the benchmark's mix, through Python's sqlite3 (no sqlite3 shell).
python3 - "$DSR_DB" benches/officer.sql 3000 <<'PY'
import re, sqlite3, sys
db, script, n = sys.argv[1:]
conn = sqlite3.connect(db)
conn.executescript(re.sub(r":n\b", n, open(script, encoding="utf-8").read()))
conn.close()
PY
"$dsr" -q report --from 2025-01-01 --to 2025-12-31 --html "$work/report.html"

render "file://$work/report.html" 1280,1900 "$work"

fail=0
for text in "Accountability report" "Verantwoordingsrapport" "Requests per month by right" "Dagen tot antwoord" \
            "één maand" "Art. 17(3)(b)"; do
  grep -q "$text" "$work/dom.html" || { echo "check-report: '$text' is not shown" >&2; fail=1; }
done
[ "$(grep -o '<svg' "$work/dom.html" | wc -l)" -eq 2 ] || { echo "check-report: the page does not hold two charts" >&2; fail=1; }
[ "$(grep -o '<rect' "$work/dom.html" | wc -l)" -gt 40 ] || { echo "check-report: the charts have no bars" >&2; fail=1; }
console_errors "$work" && fail=1
grep -Eqi '<script|src=|href=|url\(' "$work/report.html" && { echo "check-report: scripts or remote resources in the page" >&2; fail=1; }
[ -s "$work/shot.png" ] || { echo "check-report: no screenshot" >&2; fail=1; }
[ $fail -eq 0 ] && echo "check-report: the report page renders in both languages with both charts, no console errors"
exit $fail
