"""Concurrent bookings on a file-backed SQLite database (the embedded default), in a process of
its own so it can migrate a fresh database. Prints a JSON summary on the last line.

Usage: DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.participants._sqlite_rush [DEFERRED]
The optional argument replaces the IMMEDIATE transaction mode (the control).
"""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

if len(sys.argv) > 1:
    settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] = sys.argv[1]
    settings.DATABASES["default"]["OPTIONS"]["timeout"] = 5

ATTEMPTS, PLACES = 100, 30


def main() -> None:
    from communications import services as communications_services
    from participants.models import Ticket
    from participants.services import AttendeeInput, registration_create
    from tests.factories import EventFactory, TicketTypeFactory
    from tests.participants.conftest import run_threads

    call_command("migrate", verbosity=0)
    # Outbox rows are written; rendering and sending them is not what this measures.
    communications_services._queue_send = lambda mail_id: None
    event = EventFactory(capacity=PLACES)
    tt = TicketTypeFactory(event=event)

    def attempt(i):
        return registration_create(
            event=event,
            booker_name=f"B{i}",
            booker_email=f"b{i}@example.nl",
            attendees=[AttendeeInput(name=f"A{i}", email=f"a{i}@example.nl", ticket_type_id=tt.pk)],
        )

    outcomes = run_threads(ATTEMPTS, attempt, max_connections=ATTEMPTS)
    errors = [v for kind, v in outcomes if kind == "error"]
    print(
        json.dumps(
            {
                "booked": sum(kind == "ok" for kind, _v in outcomes),
                "held": Ticket.objects.filter(event=event, status__in=Ticket.HOLDS_PLACE).count(),
                "codes": sorted({getattr(e, "code", type(e).__name__) for e in errors}),
                "messages": sorted({str(e) for e in errors if not hasattr(e, "code")})[:3],
            }
        )
    )


if __name__ == "__main__":
    main()
