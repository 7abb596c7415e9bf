"""API list latency with query counts: the public events list and detail, and an organisation's
bookings, on PostgreSQL.

Standalone: `.venv/bin/python bench/api_lists.py [--events 60] [--bookings 300] [--requests 200]`.
Creates its own database on the local PostgreSQL, migrates it, books through the real services,
then sends each GET through Django's full request handling in this process (middleware, DRF,
serializers; no HTTP server, so the figures are the application's own time). For each list it
prints p50/p95 latency and the queries of one request at page size 10 and at page size 100: a
list whose query count grows with its rows (N+1) shows as extra queries for 90 more rows.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def seed(*, events: int, bookings: int) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from api.services import api_token_create
    from events.models import Campaign, Event, Question, TicketType
    from organisations.models import Organisation
    from participants.services import AttendeeInput, registration_create

    campaign = Campaign.objects.create(name="Bench lists", slug="bench-lists")
    start = timezone.now() + timedelta(days=30)
    created = []
    for i in range(events):
        event = Event.objects.create(
            campaign=campaign,
            kind="congress",
            title=f"Congres {i}",
            slug=f"congres-{i}",
            starts_at=start + timedelta(hours=i),
            ends_at=start + timedelta(hours=i + 6),
            capacity=10_000,
            status="published",
        )
        types = [
            TicketType.objects.create(event=event, name=n, price_cents=0)
            for n in ("Standaard", "Workshop")
        ]
        Question.objects.create(event=event, label="Dieetwensen", kind="text", required=False)
        created.append((event, types))
    organisation = Organisation.objects.create(name="Bench BV", kvk_number="12345678")
    _token, key = api_token_create(organisation=organisation, name="bench")
    for n in range(bookings):
        event, types = created[n % len(created)]
        registration_create(
            event=event,
            booker_name=f"HR {n}",
            booker_email=f"hr{n}@bench.example.nl",
            attendees=[
                AttendeeInput(
                    name=f"Deelnemer {n}-{a}",
                    email=f"d{n}-{a}@bench.example.nl",
                    ticket_type_id=types[a].pk,
                )
                for a in range(2)
            ],
            organisation=organisation,
        )
    return {"event": created[0][0].pk, "key": key}


def measure(client, path: str, headers: dict, requests: int) -> tuple[list[float], int, int]:
    """Latencies (ms) of `requests` GETs after a warm-up, and the queries and rows of one."""
    from django.db import connection

    for _ in range(5):
        assert client.get(path, **headers).status_code == 200, path
    # An execute wrapper, not CaptureQueriesContext: the request resets the queries log.
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        body = client.get(path, **headers).json()
    rows = len(body["results"]) if isinstance(body, dict) and "results" in body else 1
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, **headers)
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, path
    return latencies, len(queries), rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    db_name = f"werkstress_bench_lists_{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="werkstress-bench-lists-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
            # Booking mails become outbox rows and files on a broker nobody consumes.
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "VAR_DIR": str(tmp),
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "ERROR",
        }
    )
    sys.path.insert(0, str(ROOT))
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client

        call_command("migrate", "--noinput", verbosity=0)
        started = time.perf_counter()
        setup = seed(events=args.events, bookings=args.bookings)
        print(
            f"data: {args.events} events, {args.bookings} bookings of 2 attendees "
            f"(seeded in {time.perf_counter() - started:.1f} s)"
        )
        # What config.wsgi does in each gunicorn worker once the application is loaded.
        from common.runtime import prepare_server_process

        prepare_server_process()
        client = Client()
        token = {"HTTP_AUTHORIZATION": f"Token {setup['key']}", "HTTP_ACCEPT_LANGUAGE": "nl"}
        public = {"HTTP_ACCEPT_LANGUAGE": "nl"}
        lists = [
            ("events list", "/api/v1/events/", public),
            ("bookings list", "/api/v1/bookings/", token),
        ]
        for name, path, headers in lists:
            small, small_queries, small_rows = measure(
                client, f"{path}?page_size=10", headers, args.requests
            )
            large, large_queries, large_rows = measure(
                client, f"{path}?page_size=100", headers, args.requests
            )
            print(f"--- {name}: {small_rows} and {large_rows} rows per page")
            print(f"{name} p50_ms (page 10): {statistics.median(small):.1f}")
            print(f"{name} p95_ms (page 10): {percentile(small, 95):.1f}")
            print(f"{name} p50_ms (page 100): {statistics.median(large):.1f}")
            print(f"{name} p95_ms (page 100): {percentile(large, 95):.1f}")
            print(f"{name} queries (page 10): {small_queries}")
            print(f"{name} queries (page 100): {large_queries}")
            print(f"{name} extra queries for more rows: {large_queries - small_queries}")
        detail, detail_queries, _rows = measure(
            client, f"/api/v1/events/{setup['event']}/", public, args.requests
        )
        print("--- event detail (availability per ticket type)")
        print(f"event detail p50_ms: {statistics.median(detail):.1f}")
        print(f"event detail p95_ms: {percentile(detail, 95):.1f}")
        print(f"event detail queries: {detail_queries}")
        connections.close_all()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
