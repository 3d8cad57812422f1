#!/usr/bin/env bash
# Benchmark `dsr intake` on a Maildir (issue 17, see docs/benchmarks.md).
#
#   benches/intake.sh [MESSAGES]
#
# Writes a Maildir of MESSAGES (default 100,000) real-shaped messages to the privacy address
# (under target/bench/, once) and reads it into a new Virtio store with a release build: about a
# third ask for a right (access, erasure, portability, unsubscribe; Dutch and English; from
# addresses on file and unknown ones, most of them the same few people again, so most find their
# request already open), a tenth are replies naming a request with a code-shaped word, and the
# rest ask nothing (questions, out-of-office replies, bounces, spam, newsletters) or are unclear.
# Then the same Maildir again (every message read before). Prints messages per second and the
# peak memory (from /usr/bin/time -v when installed).
set -euo pipefail
cd "$(dirname "$0")/.."

messages=${1:-100000}
export DSR_NOW=2026-12-01T10:00:00Z
cargo build --release --quiet
dsr=$PWD/target/release/dsr
dir=$PWD/target/bench/intake-$messages
if [ ! -d "$dir/Maildir/new" ]; then
  echo "writing $messages messages to $dir/Maildir ..." >&2
  mkdir -p "$dir/Maildir/new" "$dir/Maildir/cur" "$dir/Maildir/tmp"
  python3 - "$dir/Maildir/new" "$messages" <<'EOF'
import sys, random
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(17)
on_file = ["jan.devries@example.nl", "pieter.vandenberg@example.com", "lotte.jansen@example.org",
           "daan.visser@example.com", "fenna.mulder@example.nl", "eva.kok@example.nl"]
asks = [("Inzageverzoek", "Beste,\n\nGraag wil ik inzage in mijn persoonsgegevens (artikel 15 AVG).\n\nMet vriendelijke groet"),
        ("Verwijderen", "Hallo,\n\nVerwijder al mijn gegevens en mijn account alstublieft.\n"),
        ("Subject access request", "Dear team,\n\nThis is a subject access request. What personal data do you hold about me?\n"),
        ("Data portability", "Hello, I would like a machine-readable copy under my right to data portability.\n"),
        ("Afmelden nieuwsbrief", "Ik wil me afmelden voor de nieuwsbrief.\n")]
nothing = [("Vraag over factuur", "Wanneer wordt mijn factuur verstuurd? Het bedrag klopt wel.\n", ""),
           ("Automatic reply: Privacy", "I am out of the office until Monday.\n", "Auto-Submitted: auto-replied\n"),
           ("Undelivered Mail Returned to Sender", "This is the mail system at host mx.example.\n", ""),
           ("WIN A PRIZE", "Click here to claim your prize!\n", "X-Spam-Flag: YES\n"),
           ("Nieuwsbrief december", "Onze aanbiedingen van deze maand.\n", "List-Id: <news.example.com>\n"),
           ("AVG", "Ik heb een vraag over de AVG en mijn adres klopt niet.\n", "")]
for i in range(n):
    r = rnd.random()
    if r < 0.33:
        subject, body = rnd.choice(asks)
        sender = rnd.choice(on_file) if rnd.random() < 0.7 else f"person{rnd.randrange(2000)}@example.net"
        extra = ""
    elif r < 0.43:
        subject = f"Re: Verificatiecode / Verification code (DSR-2026-{rnd.randrange(1, 3000):04d})"
        body = f"Hier is mijn code: {rnd.choice('0123456789ABCDEFGH')}7K2-M9XD\n\n> verzoek\n"
        sender, extra = rnd.choice(on_file), "In-Reply-To: <code@virtio.nl>\n"
    else:
        subject, body, extra = rnd.choice(nothing)
        sender = f"sender{rnd.randrange(50000)}@example.org"
        if subject.startswith("Undelivered"):
            sender = "MAILER-DAEMON@mx.example"
    day = 1 + i * 29 // n
    msg = (f"Return-Path: <{sender}>\nDelivered-To: support@virtio.nl\nFrom: {sender}\nTo: support@virtio.nl\n"
           f"Subject: {subject}\nDate: {day:02d} Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0100\n"
           f"Message-ID: <m{i}.{rnd.randrange(10**9)}@example.net>\nMIME-Version: 1.0\n{extra}"
           f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}")
    with open(f"{out}/{1764500000 + i}.M{i}P1.bench", "w") as f:
        f.write(msg.replace("\n", "\r\n"))
EOF
fi
store=$dir/dsr.sqlite
rm -rf "$store" "$store"-* "$dir/outbox"
"$dsr" --db "$store" -q init --fixture virtio
timed() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" 2>"$dir/time.txt" >/dev/null
    peak=$(awk -F': ' '/Maximum resident/ {printf "%.1f MiB", $2 / 1024}' "$dir/time.txt")
  else
    "$@" >/dev/null 2>&1
    peak="n/a"
  fi
}
for run in first again; do
  t0=$(date +%s%3N)
  timed "$dsr" --db "$store" intake "$dir/Maildir"
  t1=$(date +%s%3N)
  ms=$((t1 - t0))
  printf '%s reading: %d messages in %d ms = %d messages/s, peak %s\n' "$run" "$messages" "$ms" \
    $((messages * 1000 / (ms > 0 ? ms : 1))) "$peak"
done
sqlite3 "$store" "SELECT outcome, count(*) FROM intake_message GROUP BY outcome" 2>/dev/null || true
