"""Writes to the outbox. Call mail_enqueue inside the business transaction that causes the mail."""

import logging
import time
from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from common.prepared import PreparedInsert

from .calendars import calendar_snapshot, ics_attachment
from .models import OutboxMail
from .sending import QUEUED_GRACE

logger = logging.getLogger(__name__)


def mail_enqueue(
    *,
    key: str,
    template: str,
    to_email: str,
    to_name: str = "",
    language: str = "nl",
    context: dict | None = None,
    attachments: list[dict] | None = None,
    event_id: int | None = None,
) -> OutboxMail:
    """Queue one mail, once. A second call with the same key returns the first row unchanged.

    The send task is queued only after the surrounding transaction commits, so a rolled-back
    booking never mails anyone and the worker never reads a row that is not there yet. If the
    broker is down at that moment the row stays queued and the sweeper picks it up.
    """
    return mail_enqueue_many(
        mails=[
            {
                "key": key,
                "template": template,
                "to_email": to_email,
                "to_name": to_name,
                "language": language,
                "context": context,
                "attachments": attachments,
                "event_id": event_id,
            }
        ]
    )[0]


def mail_enqueue_many(*, mails: list[dict]) -> list[OutboxMail]:
    """``mail_enqueue`` for several mails at once (each dict holds its keyword arguments), in
    two statements whatever their number; returns the rows in the order given.

    For callers that queue a batch while holding a lock (a booking's confirmations under the
    event lock): one round trip for the inserts and one for the read-back, not two per mail.
    """
    if not mails:
        return []
    next_attempt_at = timezone.now() + QUEUED_GRACE
    rows = [
        OutboxMail(
            key=m["key"],
            template=m["template"],
            to_email=m["to_email"],
            to_name=m.get("to_name") or "",
            language=m.get("language") if m.get("language") in ("nl", "en") else "nl",
            context=m.get("context") or {},
            attachments=m.get("attachments") or [],
            event_id=m.get("event_id"),
            # Safety net: if the task message is lost, the sweeper queues it after this.
            next_attempt_at=next_attempt_at,
        )
        for m in mails
    ]
    inserted = _insert_new(rows)
    # Rows whose key was already there (a repeated call): read what is stored. Usually none,
    # so the common path is one statement.
    stored = OutboxMail.objects.in_bulk(
        [row.key for row in rows if row.key not in inserted], field_name="key"
    )
    result = []
    new_ids = []
    for row in rows:
        mail = inserted.get(row.key)
        if mail is not None:
            # Ours: queue it once the transaction commits (once, even if the key repeats).
            del inserted[row.key]
            new_ids.append(mail.pk)
        else:
            mail = stored.get(row.key) or next(m for m in result if m.key == row.key)
        result.append(mail)
    if new_ids:
        _queue_on_commit(new_ids)
    return result


# ON CONFLICT (key) DO NOTHING RETURNING id, key, built once per number of rows
# (common.prepared): one statement and no savepoint inside the caller's (often lock-holding)
# transaction. A concurrent transaction inserting the same key makes the INSERT wait for it
# and then skip that row.
_insert_outbox_rows = PreparedInsert(OutboxMail, returning=("pk", "key"), ignore_conflicts=True)


def _insert_new(rows: list[OutboxMail]) -> dict[str, OutboxMail]:
    """Insert the rows whose key is new; returns {key: row} for the rows this call inserted."""
    by_key = {}
    for row in rows:
        by_key.setdefault(row.key, row)
    inserted = {}
    db = router.db_for_write(OutboxMail)
    for pk, key in _insert_outbox_rows(rows):
        row = by_key[key]
        row.pk = pk
        row._state.adding = False
        row._state.db = db
        inserted[key] = row
    return inserted


# After a failed publish, skip the broker for a while: each attempt against a dead broker
# costs the booking request about half a second, and the sweeper catches up anyway.
BROKER_BACKOFF_SECONDS = 30.0
_broker_down_until = [0.0]
# Outbox rows per send task: one claim statement, one read of the rows they refer to and one
# SMTP connection per batch instead of per mail. Small enough that a large run still spreads
# over every worker process (2,000 mails = 80 tasks) and a crashed worker strands few claims.
SEND_BATCH_SIZE = 25


class _OutboxBatch:
    """Outbox rows queued in one transaction (under the same savepoints), published together."""

    __slots__ = ("ids", "published")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.published = False


class _PublishOnCommit:
    """The on-commit callback of newly queued rows; the first of a batch to run publishes the
    whole batch, the others find it published.

    Consecutive mail_enqueue / mail_enqueue_many calls in the same transaction and savepoint
    join one batch, so a mailing, an event change or an organisation's booking for many
    attendees becomes a few batch tasks, not one task per mail. A call joins only the batch of
    the callback registered last, and only under exactly the same savepoints: a rolled-back
    savepoint then discards every callback of that batch together with its rows. One
    registration per queued row, as before (tests count them).
    """

    __slots__ = ("batch",)

    def __init__(self, batch: _OutboxBatch) -> None:
        self.batch = batch

    def __call__(self) -> None:
        if not self.batch.published:
            self.batch.published = True
            _queue_send(self.batch.ids)


def _queue_on_commit(ids: list[int]) -> None:
    conn = transaction.get_connection(router.db_for_write(OutboxMail))
    batch = None
    if conn.in_atomic_block:
        try:
            # Django keeps (savepoint ids, callback, robust) per registered callback.
            savepoints, last, _robust = conn.run_on_commit[-1]
        except (IndexError, TypeError, ValueError, AttributeError):
            last = None
        if (
            isinstance(last, _PublishOnCommit)
            and not last.batch.published
            and savepoints == set(conn.savepoint_ids)
        ):
            batch = last.batch
    if batch is None:
        batch = _OutboxBatch()
    batch.ids.extend(ids)
    callback = _PublishOnCommit(batch)
    for _pk in ids:
        transaction.on_commit(callback, using=conn.alias)


def outbox_queue(*, mail_ids: list[int], from_commit: bool = False) -> None:
    """Publish send tasks for these outbox rows, SEND_BATCH_SIZE rows per task.

    Never raises: the rows are committed and QUEUED; if the broker is down they are marked due
    and the sweeper queues them as soon as it can. `from_commit` (the publish after a business
    transaction, e.g. a booking request) skips the broker for BROKER_BACKOFF_SECONDS after a
    failure, so requests do not each wait for a dead broker; the sweeper always tries.
    """
    from .tasks import send_mails_task

    ids = list(dict.fromkeys(mail_ids))
    for start in range(0, len(ids), SEND_BATCH_SIZE):
        try:
            if from_commit and time.monotonic() < _broker_down_until[0]:
                raise ConnectionError("broker recently unreachable; not trying again yet")
            send_mails_task.delay(ids[start : start + SEND_BATCH_SIZE])
        except Exception:  # noqa: BLE001
            if from_commit:
                _broker_down_until[0] = time.monotonic() + BROKER_BACKOFF_SECONDS
            logger.warning(
                "could not queue %s mails; the sweeper will retry", len(ids) - start, exc_info=True
            )
            try:
                OutboxMail.objects.filter(
                    pk__in=ids[start:], status=OutboxMail.Status.QUEUED
                ).update(next_attempt_at=timezone.now())
            except Exception:  # noqa: BLE001 - the grace period still covers it
                logger.warning("could not mark %s mails due", len(ids) - start, exc_info=True)
            return


def _queue_send(mail_ids: int | list[int]) -> None:
    """What runs on commit for newly queued rows (one id or a list). Looked up at call time:
    tests of other apps replace it to keep their mails off the broker."""
    ids = [mail_ids] if isinstance(mail_ids, int) else list(mail_ids)
    outbox_queue(mail_ids=ids, from_commit=True)


def outbox_sweep(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Queue every row whose broker message may be lost; returns how many were queued.

    Picks rows that are due: queued past their grace period (broker was down, the message
    died with a worker), retrying past their back-off, or sending with an expired claim (the
    worker died mid-send; it may have delivered, see communications.sending). Each picked row
    becomes queued with a fresh grace period so a long broker backlog is not queued again
    every minute. Safe to run concurrently and as often as wanted: sending is idempotent.
    """
    now = now or timezone.now()
    due = Q(next_attempt_at__lte=now) | Q(
        next_attempt_at__isnull=True, updated_at__lte=now - QUEUED_GRACE
    )
    statuses = [
        OutboxMail.Status.QUEUED,
        OutboxMail.Status.RETRYING,
        OutboxMail.Status.SENDING,
    ]
    with transaction.atomic():
        rows = OutboxMail.objects.filter(due, status__in=statuses).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        picked = list(rows.values_list("id", "status")[:batch])
        if not picked:
            return 0
        ids = [pk for pk, _status in picked]
        stale = [pk for pk, status in picked if status == OutboxMail.Status.SENDING]
        if stale:
            logger.warning("outbox: %s mails were left in sending by a lost worker", len(stale))
            OutboxMail.objects.filter(pk__in=stale).update(
                last_error="A worker stopped while sending this mail; "
                "it may have been delivered already."
            )
        OutboxMail.objects.filter(pk__in=ids).update(
            status=OutboxMail.Status.QUEUED,
            next_attempt_at=now + QUEUED_GRACE,
            updated_at=timezone.now(),
        )
        transaction.on_commit(lambda: _queue_many(ids))
    return len(ids)


def _queue_many(ids: list[int]) -> None:
    outbox_queue(mail_ids=ids)


def mail_resend(*, mail: OutboxMail) -> OutboxMail:
    """Send a mail again from the outbox page.

    A failed (or retrying) row is queued again with fresh attempts. A sent row stays as it is
    for the record; a copy with key `<key>:resend:<n>` is queued instead.
    """
    with transaction.atomic():
        mail = OutboxMail.objects.select_for_update().get(pk=mail.pk)
        if mail.status in (OutboxMail.Status.FAILED, OutboxMail.Status.RETRYING):
            mail.status = OutboxMail.Status.QUEUED
            mail.attempts = 0
            mail.next_attempt_at = timezone.now() + QUEUED_GRACE
            mail.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
            transaction.on_commit(lambda: _queue_send(mail.pk))
            return mail
        if mail.status != OutboxMail.Status.SENT:
            raise RuleViolation(
                _("This mail is still waiting to be sent; it cannot be resent yet."),
                code="not_allowed",
                conflict=True,
            )
        base_key = mail.key.split(":resend:")[0]
        n = OutboxMail.objects.filter(key__startswith=f"{base_key}:resend:").count() + 1
        while OutboxMail.objects.filter(key=f"{base_key}:resend:{n}").exists():
            n += 1
        return mail_enqueue(
            key=f"{base_key}:resend:{n}",
            template=mail.template,
            to_email=mail.to_email,
            to_name=mail.to_name,
            language=mail.language,
            context=mail.context,
            attachments=mail.attachments,
            event_id=mail.event_id,
        )


def _attendee_mail(*, ticket, key: str, template: str, attachments: list[dict]) -> OutboxMail:
    return mail_enqueue(
        key=key,
        template=template,
        to_email=ticket.person.email,
        to_name=ticket.person.name,
        language=ticket.person.preferred_language,
        context={"ticket_id": ticket.pk},
        attachments=attachments,
        event_id=ticket.event_id,
    )


def event_mails_enqueue(*, event, template: str, method: str = "REQUEST", tickets=None) -> int:
    """Queue `template` (event_changed / event_cancelled) to every valid ticket of the event,
    or to `tickets` only (valid tickets of this event, e.g. a booking that raced the change).

    Keys carry the revision, so each change mails once and a later change mails again. The
    caller holds the event lock and has already bumped event.revision; the invite each mail
    carries is the event as it is now (snapshot), whenever the mail is sent.
    """
    Ticket = apps.get_model("participants", "Ticket")
    if tickets is None:
        tickets = (
            Ticket.objects.filter(event=event, status=Ticket.Status.VALID)
            .select_related("person")
            .iterator(chunk_size=500)
        )
    snapshot = calendar_snapshot(event)
    count = 0
    for ticket in tickets:
        _attendee_mail(
            ticket=ticket,
            key=f"{template}:{ticket.pk}:{event.revision}",
            template=template,
            attachments=[
                ics_attachment(event=event, method=method, ticket_id=ticket.pk, snapshot=snapshot)
            ],
        )
        count += 1
    return count


def event_reminders_queue(*, now: datetime | None = None) -> int:
    """Queue the day-before reminder for every valid ticket of events starting within 24 hours.

    Runs hourly; the key `event_reminder:{ticket.pk}` makes it once per ticket however often
    it runs. Tickets booked in the last two hours are skipped: their confirmation just arrived.
    """
    Ticket = apps.get_model("participants", "Ticket")
    Event = apps.get_model("events", "Event")
    now = now or timezone.now()
    tickets = list(
        Ticket.objects.filter(
            status=Ticket.Status.VALID,
            event__status=Event.Status.PUBLISHED,
            event__starts_at__gt=now,
            event__starts_at__lte=now + timedelta(hours=24),
            created_at__lte=now - timedelta(hours=2),
        ).select_related("person", "event")
    )
    keys = {f"event_reminder:{ticket.pk}": ticket for ticket in tickets}
    done = set(OutboxMail.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    snapshots: dict[int, dict] = {}
    count = 0
    for key, ticket in keys.items():
        if key in done:
            continue
        event = ticket.event
        if event.pk not in snapshots:
            snapshots[event.pk] = calendar_snapshot(event)
        with transaction.atomic():
            _attendee_mail(
                ticket=ticket,
                key=key,
                template="event_reminder",
                attachments=[
                    ics_attachment(
                        event=event,
                        method="REQUEST",
                        ticket_id=ticket.pk,
                        snapshot=snapshots[event.pk],
                    )
                ],
            )
        count += 1
    return count
