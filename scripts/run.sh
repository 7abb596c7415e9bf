#!/usr/bin/env bash
# `make run`: the embedded default. One worker (with the beat scheduler) beside the dev server.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h | --help)
    # Answer without touching the database or starting anything.
    cat <<'TXT'
Usage: scripts/run.sh   (normally through `make run`, which installs the dependencies first)

Compiles translations, migrates, collects static files, loads the demo data (seed_demo), then
starts a Celery worker (with beat) and the development server, and prints the URL and the demo
logins. Stop both with Ctrl-C.

Environment: HOST (127.0.0.1), PORT (8000), DEMO_PASSWORD (werkstress-demo), VAR_DIR (var/),
DJANGO_DEBUG (1), OTP_REQUIRED_FOR_ORGANISERS (false); DATABASE_URL, CELERY_BROKER_URL,
EMAIL_URL as in the README (none needed: SQLite, a filesystem queue and mail files under var/).
TXT
    exit 0
    ;;
  "") ;;
  *)
    echo "scripts/run.sh: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
esac
BIN=.venv/bin
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DJANGO_DEBUG=${DJANGO_DEBUG:-1}
# The local demo lets the demo organiser in without an authenticator app; production settings
# keep two-factor required for every organiser role.
export OTP_REQUIRED_FOR_ORGANISERS=${OTP_REQUIRED_FOR_ORGANISERS:-false}

$BIN/python manage.py compilemessages -v0 --ignore=.venv
$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py collectstatic --noinput -v0
$BIN/python manage.py seed_demo

$BIN/celery -A config worker --beat --queues default,mail,documents --concurrency 2 \
  --loglevel INFO --logfile "${VAR_DIR:-var}/worker.log" &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

cat <<TXT

  Werkstress events is running at http://$HOST:$PORT/
  Organiser login: organisator@werkstress.example.nl / ${DEMO_PASSWORD:-werkstress-demo}
    (two-factor is off for this demo; set OTP_REQUIRED_FOR_ORGANISERS=true to try it)
  Back office: http://$HOST:$PORT/nl/beheer/
  Organisation portal login: hr@zorggroep-noorderlicht.example.nl / ${DEMO_PASSWORD:-werkstress-demo}
  Outgoing mail: the outbox in the back office, and files under var/mail/
  Job worker log: ${VAR_DIR:-var}/worker.log

TXT
$BIN/python manage.py runserver "$HOST:$PORT"
