# What the headless-browser checks share (sourced by check-index.sh and check-report.sh; NAME
# set by the caller): Debian's Chromium found or the check refused, and `render URL WIDTH,HEIGHT
# DIR` which writes the page's DOM (DIR/dom.html), the browser's log (DIR/console.log) and a
# screenshot (DIR/shot.png; with SCREENSHOT=FILE also there: CI leaves the checkout untouched).
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "$NAME: chromium not found (apt-get install chromium)" >&2; exit 1; }

render() {
  local url=$1 size=$2 dir=$3
  local flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
               --disable-component-update --disable-sync --user-data-dir="$dir/profile")
  chromium_run "$dir" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "$url"
  cp "$dir/out" "$dir/dom.html"; cp "$dir/err" "$dir/console.log"
  chromium_run "$dir" "${flags[@]}" --hide-scrollbars --window-size="$size" --screenshot="$dir/shot.png" "$url"
  [ -z "${SCREENSHOT:-}" ] || cp "$dir/shot.png" "$SCREENSHOT"
}

# chromium_run DIR ARGS...: Chromium with ARGS, its output in DIR/out and DIR/err; a run that
# fails (a browser that crashed on a loaded machine) is tried once more, and a second failure
# is reported with the browser's last lines instead of ending the check without a word.
chromium_run() {
  local dir=$1; shift
  local try status
  for try in 1 2; do
    status=0
    "$chromium" "$@" >"$dir/out" 2>"$dir/err" || status=$?
    [ "$status" -eq 0 ] && return 0
    echo "$NAME: chromium exited with status $status (try $try of 2)" >&2
  done
  tail -n 20 "$dir/err" >&2
  exit 1
}

# console_errors DIR: the errors the browser logged, if any (status 0 when there are some).
console_errors() {
  grep -E "CONSOLE|Uncaught|Refused to" "$1/console.log" >/dev/null || return 1
  echo "$NAME: console errors:" >&2
  grep -E "CONSOLE|Uncaught|Refused to" "$1/console.log" >&2
}
