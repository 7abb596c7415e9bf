"""Mailing send and retention run on a throwaway database: how long for N recipients.

    .venv/bin/python bench/mailings_privacy.py [--recipients 5000]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_mailings]

Without --database-url a fresh SQLite file is used. The PostgreSQL database is created and
dropped by Django's test-database machinery (name prefixed with test_). Prints:
`mailing_send: N mails queued in S s (R mails/s)` (the organiser's request and the send job
together), how long the request alone took, the retention dry run and the real run
(people anonymised per second). Task publishing is switched off: this measures the database
work inside the transactions, not the broker.
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url or (
        "sqlite:///" + tempfile.mkdtemp(prefix="bench-mailings-") + "/db.sqlite3"
    )
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-mailings-var-"))

    import logging

    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args.recipients)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(n: int) -> None:
    from django.utils import timezone

    import communications.services as outbox
    from accounts.models import User
    from events.models import Campaign, Event, TicketType
    from mailings import services as mailing_services
    from participants.models import Person, Registration, Ticket
    from privacy.models import RetentionPolicy
    from privacy.services import retention_run

    outbox._queue_send = lambda mail_id: None  # no broker: measure the database work
    user = User.objects.create_user(email="bench@example.nl", password=None, is_staff=True)
    campaign = Campaign.objects.create(name="Bench", slug="bench")
    start = timezone.now() - timedelta(days=400)
    event = Event.objects.create(
        campaign=campaign,
        kind="congress",
        title="Bench congres",
        slug="bench-congres",
        starts_at=start,
        ends_at=start + timedelta(hours=8),
        status="published",
    )
    RetentionPolicy.objects.create(event=event, retention_days=30)
    ticket_type = TicketType.objects.create(event=event, name="Standaard", price_cents=0)
    people = Person.objects.bulk_create(
        Person(name=f"Deelnemer {i}", email=f"p{i}@bench.example.nl") for i in range(n)
    )
    registrations = Registration.objects.bulk_create(
        Registration(event=event, booker=p, status="confirmed") for p in people
    )
    Ticket.objects.bulk_create(
        Ticket(registration=r, event=event, ticket_type=ticket_type, person=r.booker)
        for r in registrations
    )
    mailing = mailing_services.mailing_create(
        created_by=user,
        segment="event_attendees",
        event=event,
        subject_nl="Nieuws",
        body_nl="Beste {{ naam }},\n\nTot ziens.",
    )
    # Import the URLconf (every app's views) before timing: a one-off cost of the first reverse().
    from django.urls import reverse

    reverse("mailings:list")
    mailing_services._queue_job = lambda mailing_id: None  # the job is run below, in here
    t0 = time.perf_counter()
    counted = mailing_services.mailing_send(mailing=mailing, user=user)
    dt_request = time.perf_counter() - t0
    mailing = mailing_services.mailing_send_run(mailing_id=mailing.pk)
    dt = time.perf_counter() - t0
    queued = mailing.recipients_done
    assert queued == counted == n, (queued, counted, n)
    print(f"database: {os.environ['DATABASE_URL'].split(':')[0]}, recipients: {n}")
    # The figure is the organiser's request and the send job together (all the outbox rows).
    print(f"mailing_send: {queued} mails queued in {dt:.2f} s ({queued / dt:.0f} mails/s)")
    print(f"mailing_send request: {dt_request:.2f} s (the job queues the mails)")
    t0 = time.perf_counter()
    (report,) = retention_run(dry_run=True)
    print(f"retention dry run: {report.persons} people found in {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    (report,) = retention_run()
    dt = time.perf_counter() - t0
    print(
        f"retention run: {report.persons} people and {report.mails} mails anonymised in "
        f"{dt:.2f} s ({report.persons / dt:.0f} people/s)"
    )


if __name__ == "__main__":
    main()
