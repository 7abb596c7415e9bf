"""End to end on real parts: booking -> outbox -> Redis -> celery worker -> SMTP on loopback.

Each test starts real `celery worker` processes against the test database (PostgreSQL: the
worker is another process and must see committed rows) and an aiosmtpd server; the SMTP server
counts Message-IDs, so a mail delivered twice is visible.
"""

import io
import subprocess
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from icalendar import Calendar
from pypdf import PdfReader

from communications import services
from communications.models import OutboxMail
from communications.sending import CLAIM_LEASE, QUEUED_GRACE
from participants.services import AttendeeInput, _ticket_confirmed_mail, registration_create
from tests.factories import (
    EventFactory,
    PersonFactory,
    RegistrationFactory,
    TicketFactory,
    TicketTypeFactory,
)

from .conftest import free_port, real_broker, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def _attachments(message) -> dict[str, tuple[str, bytes]]:
    found = {}
    for part in message.iter_attachments():
        found[part.get_content_type()] = (part.get_filename(), part.get_payload(decode=True))
    return found


def test_ticket_confirmation_arrives_with_pdf_and_ics(redis_broker, smtp_server, start_worker):
    event = EventFactory(title="Congres Werkdruk in de Zorg")
    ticket_type = TicketTypeFactory(event=event, name="Deelnemer")
    registration = registration_create(
        event=event,
        booker_name="Bram Booker",
        booker_email="bram@example.nl",
        attendees=[
            AttendeeInput(
                name="Anouk de Vries", email="anouk@example.nl", ticket_type_id=ticket_type.pk
            )
        ],
    )
    ticket = registration.tickets.get()
    assert OutboxMail.objects.filter(key=f"ticket_confirmed:{ticket.pk}").exists()

    start_worker(broker_url=redis_broker)
    wait_for(
        lambda: OutboxMail.objects.filter(status=OutboxMail.Status.SENT).count() == 2,
        timeout=90,
        what="both mails sent",
    )
    wait_for(lambda: smtp_server.count() == 2, timeout=10, what="2 mails at the SMTP server")

    by_to = {m["To"].addresses[0].addr_spec: m for m in smtp_server.messages}
    confirmation = by_to["anouk@example.nl"]
    mail = OutboxMail.objects.get(key=f"ticket_confirmed:{ticket.pk}")
    assert str(confirmation["Message-ID"]).strip() == mail.message_id
    assert "Congres Werkdruk in de Zorg" in confirmation["Subject"]
    attachments = _attachments(confirmation)
    assert set(attachments) == {"application/pdf", "text/calendar"}

    pdf_text = "".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(attachments["application/pdf"][1])).pages
    )
    assert "Anouk de Vries" in pdf_text

    calendar = Calendar.from_ical(attachments["text/calendar"][1])
    assert str(calendar["METHOD"]) == "REQUEST"
    vevent = calendar.walk("VEVENT")[0]
    assert str(vevent["UID"]).startswith(f"event-{event.pk}@")
    assert int(vevent["SEQUENCE"]) == event.revision == 0

    # The booker's own confirmation went out too, once.
    assert "bram@example.nl" in by_to
    assert all(n == 1 for n in smtp_server.message_ids().values())


def _ticket_batch(n: int) -> list[OutboxMail]:
    """n ticket confirmations (with both attachments) queued in one transaction."""
    event = EventFactory(capacity=None)
    ticket_type = TicketTypeFactory(event=event)
    registration = RegistrationFactory(event=event)
    mails = []
    for i in range(n):
        ticket = TicketFactory(
            registration=registration,
            ticket_type=ticket_type,
            person=PersonFactory(name=f"Deelnemer Batch {i}"),
        )
        mails.append(services.mail_enqueue(**_ticket_confirmed_mail(ticket, event=ticket.event)))
    return mails


@pytest.mark.parametrize("committed", ["one-by-one", "together"])
def test_worker_killed_mid_batch_every_mail_arrives_once(
    redis_broker, smtp_server, start_worker, committed
):
    if committed == "together":
        # One transaction: the outbox publishes send_mails_task batches (SEND_BATCH_SIZE rows
        # each), so the kill lands while whole batches are claimed.
        with transaction.atomic():
            mails = _ticket_batch(200)
    else:
        # Each row commits on its own: one task per mail.
        mails = _ticket_batch(200)
    expected = {OutboxMail.objects.get(pk=m.pk).key for m in mails}

    first = start_worker(broker_url=redis_broker, concurrency=2)
    # Kill on a database observation, not on an SMTP arrival: killing right after the SMTP
    # server accepted a message would aim at the one window where a resend is possible.
    wait_for(
        lambda: OutboxMail.objects.filter(status=OutboxMail.Status.SENT).count() >= 40,
        timeout=300,
        what="40 mails sent",
    )
    first.kill()
    delivered_before_kill = smtp_server.count()
    assert delivered_before_kill < 200, "the kill must land in the middle of the batch"
    in_flight = set(
        OutboxMail.objects.filter(status=OutboxMail.Status.SENDING).values_list("pk", flat=True)
    )

    # The killed worker's claims expire; the periodic sweeper (called here at a moment past
    # the claim lease and the queued grace) puts them and every still-queued mail back on the
    # broker.
    later = timezone.now() + max(CLAIM_LEASE, QUEUED_GRACE) + timedelta(minutes=1)
    requeued = services.outbox_sweep(now=later)
    assert requeued >= 200 - delivered_before_kill - len(in_flight)

    start_worker(broker_url=redis_broker, concurrency=2)
    wait_for(
        lambda: OutboxMail.objects.filter(status=OutboxMail.Status.SENT).count() == 200,
        timeout=600,
        what="all 200 mails sent",
    )
    # Redelivery of every task message (what Redis does with a dead worker's unacknowledged
    # messages after the visibility timeout) must be a no-op for sent rows.
    from communications.tasks import send_mail_task

    for mail in mails:
        send_mail_task.delay(mail.pk)
    wait_for(lambda: _queues_empty(redis_broker), timeout=60, what="broker queues drained")

    ids = smtp_server.message_ids()
    sent_ids = dict(
        OutboxMail.objects.filter(pk__in=[m.pk for m in mails]).values_list("message_id", "pk")
    )
    assert set(ids) == set(sent_ids), "every mail arrived, with the Message-ID on its row"
    assert {OutboxMail.objects.get(pk=pk).key for pk in sent_ids.values()} == expected
    duplicates = {sent_ids[mid] for mid, n in ids.items() if n > 1}
    # At-least-once: only a mail whose SMTP "250" came in and whose worker died before the
    # status update (sub-millisecond window) can arrive twice; see communications.sending.
    assert duplicates <= in_flight
    print(
        f"delivered before kill: {delivered_before_kill}, in flight at kill: {len(in_flight)}, "
        f"duplicates: {len(duplicates)}"
    )
    assert max(ids.values()) <= 2
    if duplicates:
        pytest.xfail(f"kill landed in the accept-to-commit window for {len(duplicates)} mail(s)")


# A slow SMTP server: each mail is in DATA this long, so a batch is mid-way when the kill lands.
SLOW_SMTP_SECONDS = 0.25
RECOVERY_LIMIT_SECONDS = 60


def test_worker_killed_mid_batch_recovers_within_a_minute(redis_broker, smtp_server, start_worker):
    """kill -9 of a worker holding claimed batches: a new worker with beat (the sweeper on its
    production schedule) delivers every mail within a minute of the kill, and only what was
    in flight at the kill arrives twice, with its row's Message-ID.

    Nothing but the claim leases and the sweeper brings the claimed rows back: the broker's
    visibility timeout is production's (600 s), so the dead worker's unacknowledged batch
    messages stay out of play. Control: with the old claim timeout (10 minutes) and sweeper
    interval (60 s) this test times out (checked by hand, see the report of issue 13).
    """
    smtp_server.delay = SLOW_SMTP_SECONDS
    registration = RegistrationFactory()
    with transaction.atomic():
        # One transaction: published as batches of SEND_BATCH_SIZE (25, 25, 10).
        mails = [
            services.mail_enqueue(
                key=f"booking_confirmed:recovery:{i}",
                template="booking_confirmed",
                to_email=f"deelnemer{i}@example.nl",
                to_name=f"Deelnemer {i}",
                context={"registration_id": registration.pk},
                event_id=registration.event_id,
            )
            for i in range(60)
        ]
    ids = [m.pk for m in mails]

    first = start_worker(broker_url=redis_broker, concurrency=2, visibility_timeout=600)
    sent = OutboxMail.objects.filter(pk__in=ids, status=OutboxMail.Status.SENT)
    wait_for(lambda: sent.count() >= 6, timeout=60, what="6 mails sent")
    first.kill()
    killed_at = time.monotonic()
    stranded = set(
        OutboxMail.objects.filter(pk__in=ids, status=OutboxMail.Status.SENDING).values_list(
            "pk", flat=True
        )
    )
    # In flight at the kill: in DATA at the server, or accepted but not recorded as sent.
    recorded = set(sent.values_list("message_id", flat=True))
    in_flight = smtp_server.in_flight() | (set(smtp_server.message_ids()) - recorded)
    assert len(stranded) >= 20, "the kill must strand claimed rows of a batch mid-way"
    assert len(in_flight) <= 2, "at most one mail per pool process is in flight"

    start_worker(broker_url=redis_broker, concurrency=2, beat=True, visibility_timeout=600)
    expected = set(
        OutboxMail.objects.filter(pk__in=ids).values_list("key", flat=True)
    )  # every mail, by its key

    def all_arrived() -> bool:
        rows = dict(OutboxMail.objects.filter(pk__in=ids).values_list("message_id", "status"))
        return set(rows.values()) == {"sent"} and set(smtp_server.message_ids()) >= set(rows)

    wait_for(all_arrived, timeout=RECOVERY_LIMIT_SECONDS + 15, interval=0.2, what="every mail")
    recovery = time.monotonic() - killed_at
    ids_at_smtp = smtp_server.message_ids()
    rows = dict(OutboxMail.objects.filter(pk__in=ids).values_list("message_id", "key"))
    duplicates = {mid for mid, n in ids_at_smtp.items() if n > 1}
    print(
        f"recovery after kill -9: {recovery:.1f} s (limit {RECOVERY_LIMIT_SECONDS} s); "
        f"claimed rows stranded: {len(stranded)}, in flight: {len(in_flight)}, "
        f"duplicates: {len(duplicates)}"
    )
    assert set(ids_at_smtp) == set(rows), "every mail arrived, with the Message-ID on its row"
    assert set(rows.values()) == expected
    assert duplicates <= in_flight, "only a mail in flight at the kill may arrive twice"
    assert max(ids_at_smtp.values()) <= 2
    assert recovery < RECOVERY_LIMIT_SECONDS


def _queues_empty(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url)
    # The killed worker's own unacknowledged messages stay in the "unacked" hash until kombu's
    # restore sweep (minutes); the explicit redelivery above covers what they would do.
    return all(client.llen(q) == 0 for q in ("mail", "documents", "default"))


def test_broker_down_during_booking_mail_goes_out_once_after_recovery(
    tmp_path, smtp_server, start_worker
):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_cmd = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        str(tmp_path),
    ]
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event)

    with real_broker(url):
        # The broker is not running: the booking must succeed anyway.
        registration = registration_create(
            event=event,
            booker_name="Broker Down",
            booker_email="booker@example.nl",
            attendees=[
                AttendeeInput(
                    name="Ilse Jansen", email="ilse@example.nl", ticket_type_id=ticket_type.pk
                )
            ],
        )
        mails = list(OutboxMail.objects.filter(event=event))
        assert registration.status == "confirmed"
        assert len(mails) == 2
        assert {m.status for m in mails} == {OutboxMail.Status.QUEUED}
        # The failed publish marked them due, so the very next sweep picks them up.
        assert all(m.next_attempt_at <= timezone.now() for m in mails)

        server = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: _ping(url), timeout=10, what="redis-server up")
            assert services.outbox_sweep() == 2
            start_worker(broker_url=url)
            wait_for(
                lambda: OutboxMail.objects.filter(event=event, status="sent").count() == 2,
                timeout=90,
                what="mails sent after the broker came back",
            )
            # A second sweep finds nothing to do and nothing is delivered twice.
            assert services.outbox_sweep() == 0
            wait_for(lambda: smtp_server.count() == 2, timeout=10, what="2 mails at SMTP")
        finally:
            server.terminate()
            server.wait(timeout=10)
    assert Counter(smtp_server.message_ids().values()) == Counter({1: 2})
    assert {m["To"].addresses[0].addr_spec for m in smtp_server.messages} == {
        "booker@example.nl",
        "ilse@example.nl",
    }


def _ping(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:  # noqa: BLE001
        return False
