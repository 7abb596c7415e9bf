"""Memory and time of the attendee export (CSV and XLSX) at 10,000 and 100,000 rows.

Creates its own PostgreSQL database on the local server, migrates it, bulk-inserts one event
with `--small` attendees and one with `--rows` attendees, then runs the exports through the
real code path: the back-office export view (POST, organiser session, streamed response read
to the end and thrown away) and the export-job task that writes the file a worker would write.
Drops the database at the end.

    .venv/bin/python bench/export_memory.py [--rows 100000] [--small 10000]

Prints per run `<format> rows: N`, `<format> seconds: S`, `<format> peak_mb: M` (tracemalloc
peak of Python allocations during the export) and `<format> rss_growth_mb: G` (growth of the
process's maximum resident set size). Bounded memory means the peak at 100,000 rows is about
the peak at 10,000 rows, not ten times it; the control line shows what holding the same rows in
a list costs. Seconds are measured without tracemalloc running.
"""

import argparse
import os
import resource
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = f"bench_export_{uuid.uuid4().hex[:8]}"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
os.environ["DJANGO_DEBUG"] = "false"  # DEBUG would keep every SQL query in memory
os.environ.setdefault("VAR_DIR", f"/tmp/bench-export-{os.getpid()}")
os.environ["EXPORT_ROOT"] = f"{os.environ['VAR_DIR']}/exports"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def populate(n_small: int, n_large: int):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from events.models import Campaign, Event, TicketType
    from participants.models import Person, Registration, Ticket

    campaign = Campaign.objects.create(name="Bench", slug="bench")
    staff = User.objects.create_user(email="bench@example.nl", password=None, is_staff=True)
    events = {}
    for label, count in (("small", n_small), ("large", n_large)):
        start = timezone.now() + timedelta(days=30)
        event = Event.objects.create(
            campaign=campaign,
            kind=Event.Kind.CONGRESS,
            title=f"Congres {label}",
            slug=f"congres-{label}",
            starts_at=start,
            ends_at=start + timedelta(hours=7),
            capacity=None,
            status=Event.Status.PUBLISHED,
        )
        ticket_type = TicketType.objects.create(event=event, name="Dagkaart")
        batch = 5000
        for offset in range(0, count, batch):
            size = min(batch, count - offset)
            people = Person.objects.bulk_create(
                Person(
                    name=f"Deelnemer {offset + i} van der Berg", email=f"p{offset + i}@{label}.nl"
                )
                for i in range(size)
            )
            # One booking per 5 attendees, as company bookings are.
            bookings = Registration.objects.bulk_create(
                Registration(event=event, booker=people[i], status="confirmed")
                for i in range(0, size, 5)
            )
            Ticket.objects.bulk_create(
                Ticket(
                    registration=bookings[i // 5],
                    event=event,
                    ticket_type=ticket_type,
                    person=people[i],
                    status=Ticket.Status.VALID,
                )
                for i in range(size)
            )
        events[label] = event
    return staff, events


def run_view(staff, event, fmt: str) -> tuple[int, int]:
    """POST to the export view and read the whole streamed body; returns (rows, bytes)."""
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.test import RequestFactory
    from django.utils import translation

    from backoffice import views

    request = RequestFactory().post(
        "/nl/beheer/exports/",
        {"kind": "attendees", "format": fmt, "event": event.pk, "language": "nl"},
    )
    request.user = staff
    SessionMiddleware(lambda r: None).process_request(request)
    MessageMiddleware(lambda r: None).process_request(request)
    request._dont_enforce_csrf_checks = True
    with translation.override("nl"):
        response = views.export(request)
    assert response.status_code == 200, response.status_code
    size = 0
    newlines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        newlines += chunk.count(b"\n")
    response.close()
    # XLSX rows are taken from the job run below (reading the file back costs memory itself).
    rows = newlines - 1 if fmt == "csv" else -1
    return rows, size


def run_job(staff, event, fmt: str) -> int:
    from backoffice.models import ExportJob
    from backoffice.services import export_job_run

    job = ExportJob.objects.create(
        kind="attendees", format=fmt, filters={"event": event.pk}, requested_by=staff
    )
    job = export_job_run(job_id=job.pk)
    return job.rows_done


def measure(fn):
    # Timing first without tracemalloc (it slows allocation-heavy code several times over).
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    rss_before = rss_mb()
    tracemalloc.start()
    fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 1024 / 1024, rss_mb() - rss_before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    args = parser.parse_args()

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        settings.BACKOFFICE_EXPORT_SYNC_MAX_ROWS = 10**9  # the view streams every size here
        call_command("migrate", "--noinput", verbosity=0)
        started = time.perf_counter()
        staff, events = populate(args.small, args.rows)
        print(f"database: {DB_NAME}")
        inserted = args.small + args.rows
        print(f"insert seconds: {time.perf_counter() - started:.1f} ({inserted} attendees)")
        print(f"baseline rss_mb: {rss_mb():.1f}")
        for label in ("small", "large"):
            event = events[label]
            for fmt in ("csv", "xlsx"):
                (rows, size), seconds, peak, growth = measure(
                    lambda event=event, fmt=fmt: run_view(staff, event, fmt)
                )
                if fmt == "xlsx":
                    rows, job_seconds, job_peak, job_growth = measure(
                        lambda event=event: run_job(staff, event, "xlsx")
                    )
                print(f"--- {label} ({event.title})")
                print(f"{fmt} rows: {rows}")
                print(f"{fmt} bytes: {size}")
                print(f"{fmt} seconds: {seconds:.2f}")
                print(f"{fmt} rows_per_s: {rows / seconds:.0f}")
                print(f"{fmt} peak_mb: {peak:.1f}")
                print(f"{fmt} rss_growth_mb: {growth:.1f}")
                if fmt == "xlsx":
                    print(f"xlsx job seconds: {job_seconds:.2f}  job peak_mb: {job_peak:.1f}")
        # Control: the same rows held in a list, as a non-streaming export would.
        from backoffice.exports import export_prepare

        def materialise():
            prepared = export_prepare(kind="attendees", user=staff, event_id=events["large"].pk)
            return len(list(prepared.rows()))

        rows, seconds, peak, _growth = measure(materialise)
        print("--- control: all rows of the large event in one list (not streamed)")
        print(f"list rows: {rows}")
        print(f"list peak_mb: {peak:.1f}")
        connection.close()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        print(f"dropped database {DB_NAME}")


if __name__ == "__main__":
    main()
