#!/usr/bin/env bash
# Headless-browser check of an archive's index.html (issue 4): render it in Debian's Chromium,
# check it shows the person's name and every category of the archive, that the browser logs no
# console error, and save a screenshot (to the work directory; with SCREENSHOT=FILE, e.g.
# SCREENSHOT=docs/archive-index.png, also there: CI leaves the checkout untouched).
#
#   tests/browser/check-index.sh            # needs chromium (apt-get install chromium) and unzip
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=check-index
source tests/browser/render.sh
command -v unzip >/dev/null || { echo "check-index: unzip not found (apt-get install unzip)" >&2; exit 1; }

cargo build --quiet
dsr=$PWD/target/debug/dsr
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DSR_DB=$work/dsr.sqlite
"$dsr" -q init --fixture virtio
id=$("$dsr" --json access --email Jan.DeVries@Example.NL | sed -n 's/.*"request": "\(DSR-[0-9-]*\)".*/\1/p')
code=$(cat "$work"/outbox/"$id"-*.eml | tr -d '\r' | grep -E '^ *[0-9A-Z]{4}-[0-9A-Z]{4} *$' | head -1 | tr -d ' ')
"$dsr" verify "$id" "$code" >/dev/null
"$dsr" -q access "$id" --archive "$work/archive.zip"
mkdir "$work/archive"
(cd "$work/archive" && unzip -q ../archive.zip)

render "file://$work/archive/index.html" 1280,2000 "$work"

fail=0
grep -q "Jan" "$work/dom.html" && grep -q "de Vries" "$work/dom.html" || { echo "check-index: the person's name is not shown" >&2; fail=1; }
# Every category in the archive has its heading on the page.
for name in $(unzip -p "$work/archive.zip" data.json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("\n".join(c["name_en"].replace(" ", "_") for c in d["categories"].values()))'); do
  grep -q "${name//_/ }" "$work/dom.html" || { echo "check-index: category '${name//_/ }' is missing" >&2; fail=1; }
done
console_errors "$work" && fail=1
grep -Eq '<script|src="http|href="http[^"]*\.css' "$work/archive/index.html" && { echo "check-index: scripts or remote resources in index.html" >&2; fail=1; }
[ -s "$work/shot.png" ] || { echo "check-index: no screenshot" >&2; fail=1; }
[ $fail -eq 0 ] && echo "check-index: index.html renders, shows the person and every category, no console errors"
exit $fail
