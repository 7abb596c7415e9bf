"""Registration rush: many organisations' systems booking one popular event through the API.

Standalone: `.venv/bin/python bench/registration_rush.py --requests 2000 --clients 50`.
Creates its own PostgreSQL database on the local server, migrates it, creates an event with
fewer places than requests and an API token, starts gunicorn (DEBUG off) against it, sends the
booking requests from concurrent clients (raw sockets, one thread per client), prints
the figures and drops the database. Mail goes to outbox rows and a filesystem broker nobody
consumes, so this measures booking, not SMTP or rendering.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.client import HTTPConnection
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from api.services import api_token_create
from events.models import Campaign, Event, TicketType
from organisations.models import Organisation

campaign = Campaign.objects.create(name="Bench", slug="bench")
start = timezone.now() + timedelta(days=30)
event = Event.objects.create(
    campaign=campaign, kind="congress", title="Rush", slug="rush", starts_at=start,
    ends_at=start + timedelta(hours=6), capacity=%(places)d, status="published",
)
tt = TicketType.objects.create(event=event, name="Standaard", price_cents=0)
org = Organisation.objects.create(name="Bench BV", kvk_number="12345678")
token, key = api_token_create(organisation=org, name="bench")
print(json.dumps({"event": event.pk, "ticket_type": tt.pk, "key": key}))
"""

COUNT = """
import json
from participants.models import Registration, Ticket
held = Ticket.objects.filter(status__in=Ticket.HOLDS_PLACE).count()
print(json.dumps({"held": held, "bookings": Registration.objects.count()}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=capture,
        text=True,
    )
    # Only the last line: `shell` may print its own notices first.
    return result.stdout.strip().splitlines()[-1] if capture else ""


def wait_for(port: int, server: subprocess.Popen, timeout: float = 180.0) -> None:
    # Generous: on a busy machine five workers importing Django and WeasyPrint take a while.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gunicorn did not come up")


def _exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """One request on a fresh connection (gunicorn's sync workers close after each answer):
    send the prepared bytes, read to EOF, return (status, body). A raw socket, because the
    load generator shares the two cores with the server: http.client's parsing cost about a
    millisecond of CPU per request, time the server then did not get."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _sep, body = raw.partition(b"\r\n\r\n")
    return int(head[9:12]), body


def rush(port: int, setup: dict, requests: int, clients: int) -> tuple[list, float]:
    """Send `requests` bookings from `clients` threads; returns [(status, code, ms)], seconds."""
    results: list[tuple[int, str, float]] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    start_gate = threading.Barrier(clients + 1)
    head = (
        "POST /api/v1/bookings/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Token {setup['key']}\r\n"
        "Content-Type: application/json\r\n"
        "Accept-Language: nl\r\n"
        "Connection: close\r\n"
    )

    def client() -> None:
        start_gate.wait()
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            body = json.dumps(
                {
                    "event": setup["event"],
                    "booker": {"name": f"HR {n}", "email": f"hr{n}@bench.example.nl"},
                    "attendees": [
                        {
                            "name": f"Deelnemer {n}",
                            "email": f"d{n}@bench.example.nl",
                            "ticket_type": setup["ticket_type"],
                        }
                    ],
                }
            ).encode()
            request = (
                f"{head}Idempotency-Key: {uuid.uuid4()}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            t0 = time.perf_counter()
            try:
                status, data = _exchange(port, request)
                code = ""
                if status >= 300:
                    try:
                        code = json.loads(data).get("code", "")
                    except ValueError:
                        code = "non_json"
            except (OSError, ValueError) as exc:
                status, code = 0, type(exc).__name__
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                results.append((status, code, ms))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    start_gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - t0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--places", type=int, default=None, help="default: 75%% of requests")
    # cores + 1: bookings of one event serialise on its row lock, so workers beyond that only
    # compete for the CPU (3 beat 2 and 5 on the 2-core machine, docs/benchmarks.md).
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    places = args.places if args.places is not None else args.requests * 3 // 4

    db_name = f"werkstress_bench_{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="werkstress-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        # A filesystem broker in a temp dir that no worker consumes: queuing a mail costs what
        # it costs in production (one message), sending it is not part of the measurement.
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "VAR_DIR": str(tmp),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "RATELIMIT_ENABLED": "false",  # one client address sends everything here
        "LOG_LEVEL": "ERROR",  # 409 sold_out is expected; do not log each one
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SECRET_KEY", None)
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    server = None
    try:
        manage(env, "migrate", "--noinput", "-v0")
        setup = json.loads(manage(env, "shell", "-c", SETUP % {"places": places}, capture=True))
        port = free_port()
        server = subprocess.Popen(
            [
                GUNICORN,
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--backlog",
                "2048",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        wait_for(port, server)
        # Warm every worker's imports and connections so start-up is not counted.
        for _ in range(args.workers * 4):
            conn = HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", f"/api/v1/events/{setup['event']}/")
            conn.getresponse().read()
            conn.close()
        results, seconds = rush(port, setup, args.requests, args.clients)
        counts = json.loads(manage(env, "shell", "-c", COUNT, capture=True))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if not args.keep_db:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)

    confirmed = sum(1 for status, _c, _ms in results if status == 201)
    sold_out = sum(1 for status, code, _ms in results if status == 409 and code == "sold_out")
    errors = [(s, c) for s, c, _ms in results if not (200 <= s < 300) and not (
        s == 409 and c == "sold_out")]  # fmt: skip
    latencies = [ms for _s, _c, ms in results]
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; gunicorn "
        f"{args.workers} workers x {args.threads} threads; {args.clients} clients, "
        f"{args.requests} requests, {places} places"
    )
    print(f"confirmed: {confirmed}  sold_out: {sold_out}  seconds: {seconds:.2f}")
    print(f"bookings in db: {counts['bookings']}  places held: {counts['held']}")
    if errors:
        print("error kinds:", dict(Counter(errors)))
    print(f"mean_ms: {statistics.fmean(latencies):.0f}")
    print(f"bookings/s: {confirmed / seconds:.1f}")
    print(f"p50_ms: {percentile(latencies, 50):.0f}")
    print(f"p95_ms: {percentile(latencies, 95):.0f}")
    print(f"p99_ms: {percentile(latencies, 99):.0f}")
    print(f"oversold: {max(0, counts['held'] - places)}")
    print(f"errors: {len(errors)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
