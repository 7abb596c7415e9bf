"""Writing and sending mailings, and unsubscribing from them."""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from communications.services import mail_enqueue_many
from privacy.services import audit_record

from . import selectors
from .links import unsubscribe_from_token, unsubscribe_url
from .models import Mailing, Segment, Unsubscribe
from .rendering import unknown_placeholders

logger = logging.getLogger(__name__)

EVENT_SEGMENTS = (Segment.EVENT_ATTENDEES, Segment.CAMPAIGN_ORGANISATIONS)


def _validate(*, segment, event, region, subject_nl, body_nl, subject_en, body_en) -> None:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if segment not in Segment.values:
        add("segment", _("Choose who receives this mailing."))
    if segment in EVENT_SEGMENTS and event is None:
        add("event", _("Choose the event for these recipients."))
    if (
        segment == Segment.CAMPAIGN_ORGANISATIONS
        and event is not None
        and event.kind != "campaign_week"
    ):
        add("event", _("Choose a campaign week for organisations taking part."))
    if segment == Segment.PRESS and not selectors.press_available():
        add("segment", _("The press list is not available."))
    if segment == Segment.AMBASSADORS and not selectors.ambassadors_available():
        add("segment", _("Ambassadors are not available."))
    if region is not None and segment == Segment.EVENT_ATTENDEES:
        add("region", _("A region cannot be used for attendees of an event."))
    if not (subject_nl or "").strip():
        add("subject_nl", _("Enter a subject."))
    if not (body_nl or "").strip():
        add("body_nl", _("Enter the message."))
    if bool((subject_en or "").strip()) != bool((body_en or "").strip()):
        field = "body_en" if (subject_en or "").strip() else "subject_en"
        add(field, _("Fill in both the English subject and message, or neither."))
    for field, text in (
        ("subject_nl", subject_nl),
        ("body_nl", body_nl),
        ("subject_en", subject_en),
        ("body_en", body_en),
    ):
        unknown = unknown_placeholders(text)
        if unknown:
            add(
                field,
                _(
                    "Unknown placeholder: %(names)s. You can use {{ naam }}, {{ email }}, "
                    "{{ organisatie }} and {{ evenement }}."
                )
                % {"names": ", ".join(f"{{{{ {name} }}}}" for name in unknown)},
            )
    if errors:
        raise RuleViolation(
            _("Please correct the errors below."), code="invalid", conflict=False, errors=errors
        )


def mailing_create(
    *,
    created_by,
    segment: str,
    subject_nl: str,
    body_nl: str,
    subject_en: str = "",
    body_en: str = "",
    event=None,
    region=None,
    filters: dict | None = None,
    request=None,
) -> Mailing:
    _validate(
        segment=segment,
        event=event,
        region=region,
        subject_nl=subject_nl,
        body_nl=body_nl,
        subject_en=subject_en,
        body_en=body_en,
    )
    with transaction.atomic():
        mailing = Mailing.objects.create(
            segment=segment,
            event=event if segment in EVENT_SEGMENTS else None,
            region=region,
            filters=filters or {},
            subject_nl=subject_nl.strip(),
            body_nl=body_nl.strip(),
            subject_en=subject_en.strip(),
            body_en=body_en.strip(),
            created_by=created_by,
        )
        audit_record(
            actor=created_by, action="mailing.create", obj=mailing, request=request, segment=segment
        )
    return mailing


def mailing_update(
    *,
    mailing: Mailing,
    user,
    segment: str,
    subject_nl: str,
    body_nl: str,
    subject_en: str = "",
    body_en: str = "",
    event=None,
    region=None,
    filters: dict | None = None,
    request=None,
) -> Mailing:
    _validate(
        segment=segment,
        event=event,
        region=region,
        subject_nl=subject_nl,
        body_nl=body_nl,
        subject_en=subject_en,
        body_en=body_en,
    )
    with transaction.atomic():
        mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
        if mailing.status != Mailing.Status.DRAFT:
            raise RuleViolation(
                _("A mailing that has been sent cannot be changed."), code="already_sent"
            )
        mailing.segment = segment
        mailing.event = event if segment in EVENT_SEGMENTS else None
        mailing.region = region
        mailing.filters = filters or {}
        mailing.subject_nl, mailing.body_nl = subject_nl.strip(), body_nl.strip()
        mailing.subject_en, mailing.body_en = subject_en.strip(), body_en.strip()
        mailing.save()
        audit_record(actor=user, action="mailing.update", obj=mailing, request=request)
    return mailing


def mailing_outbox_context(*, mailing: Mailing, recipient: selectors.Recipient) -> dict:
    """Plain values only (see communications.mailcontext): the body is rendered at send time."""
    url = unsubscribe_url(
        email_hash=selectors.email_hash(recipient.email),
        scope=mailing.segment,
        language=recipient.language,
    )
    return {
        "mailing_id": mailing.pk,
        "placeholders": {"name": recipient.name, "organisation": recipient.organisation},
        "unsubscribe_url": url,
        # communications.sending adds List-Unsubscribe / List-Unsubscribe-Post for this key.
        "list_unsubscribe_url": url,
    }


def _mailing_for_update(pk: int) -> Mailing:
    """The mailing row, locked until the end of the caller's transaction."""
    return Mailing.objects.select_for_update().get(pk=pk)


def mailing_send(*, mailing: Mailing, user, request=None) -> int:
    """Start sending: mark the mailing SENDING and queue the send job; returns how many
    recipients it has now.

    The request only counts the recipients; the job (mailing_send_run) queues their mails in
    batches, so a segment of thousands does not hold the organiser's request. The mailing row
    is locked and must still be a draft, so a double click or two organisers at once start one
    job; and every outbox row has the key `mailing:{id}:{email}`, so even two jobs (a
    redelivered task, the sweeper, a database without row locks) never mail anyone twice.
    """
    with transaction.atomic():
        mailing = _mailing_for_update(mailing.pk)
        if mailing.status != Mailing.Status.DRAFT:
            raise RuleViolation(_("This mailing has already been sent."), code="already_sent")
        send, excluded = selectors.mailing_recipients(mailing=mailing)
        if not send:
            raise RuleViolation(_("Nobody would receive this mailing."), code="no_recipients")
        mailing.status = Mailing.Status.SENDING
        mailing.sent_by = user
        mailing.recipients_count = len(send)
        mailing.recipients_done = 0
        mailing.excluded_count = len(excluded)
        mailing.save(
            update_fields=[
                "status",
                "sent_by",
                "recipients_count",
                "recipients_done",
                "excluded_count",
                "updated_at",
            ]
        )
        audit_record(
            actor=user,
            action="mailing.send",
            obj=mailing,
            request=request,
            recipients=len(send),
            excluded=len(excluded),
        )
        pk = mailing.pk
        transaction.on_commit(lambda: _queue_job(pk))
    return len(send)


# Recipients per transaction of the send job: one INSERT for the batch's outbox rows, and the
# mailing row lock held only that long. A crash loses at most one uncommitted batch.
SEND_BATCH_SIZE = 500
# A SENDING mailing whose progress has not moved for this long lost its task (worker killed,
# broker down when it was queued): mailings_resume queues it again.
STALE_AFTER = timedelta(minutes=5)


def _queue_job(mailing_id: int) -> None:
    """Publish the send job. Never raises: the mailing is committed as SENDING and the sweeper
    (mailings_resume) queues it again once it is stale."""
    from .tasks import send_mailing_task

    try:
        send_mailing_task.delay(mailing_id)
    except Exception:  # noqa: BLE001
        logger.warning(
            "could not queue mailing %s; the sweeper will retry", mailing_id, exc_info=True
        )


def _outbox_mail(mailing: Mailing, recipient: selectors.Recipient) -> dict:
    return {
        "key": f"{mailing.outbox_key_prefix()}{recipient.email}",
        "template": "mailing",
        "to_email": recipient.email,
        "to_name": recipient.name,
        "language": recipient.language if mailing.body_en else "nl",
        "context": mailing_outbox_context(mailing=mailing, recipient=recipient),
        "event_id": mailing.event_id,
    }


def mailing_send_run(*, mailing_id: int, batch_size: int | None = None) -> Mailing:
    """The send job: queue one outbox mail per recipient, batch by batch, then mark it SENT.

    Idempotent and resumable: recipients whose key is already in the outbox are skipped, and
    the insert ignores a key another run added in between, so a rerun, a redelivered task or
    two runs at once add nothing twice. Each batch is one transaction that holds the mailing
    row lock, inserts the batch and records the progress; a crash keeps every batch committed
    before it. The segment is read again here: someone who unsubscribed after the organiser
    pressed "send" is left out.
    """
    batch_size = batch_size or SEND_BATCH_SIZE
    mailing = Mailing.objects.select_related("event").get(pk=mailing_id)
    if mailing.status != Mailing.Status.SENDING:
        return mailing
    send, excluded = selectors.mailing_recipients(mailing=mailing)
    already = set(selectors.mailing_outbox(mailing=mailing).values_list("key", flat=True))
    prefix = mailing.outbox_key_prefix()
    todo = [r for r in send if f"{prefix}{r.email}" not in already]
    with transaction.atomic():
        locked = _mailing_for_update(mailing_id)
        if locked.status != Mailing.Status.SENDING:
            return locked
        locked.recipients_count = len(already) + len(todo)
        locked.recipients_done = max(locked.recipients_done, len(already))
        locked.excluded_count = len([r for r in excluded if f"{prefix}{r.email}" not in already])
        locked.save(
            update_fields=["recipients_count", "recipients_done", "excluded_count", "updated_at"]
        )
    done = len(already)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        with transaction.atomic():
            locked = _mailing_for_update(mailing_id)
            if locked.status != Mailing.Status.SENDING:
                return locked  # another run finished it
            mail_enqueue_many(mails=[_outbox_mail(mailing, r) for r in batch])
            done += len(batch)
            # A lower bound of what is in the outbox: another run may have added more.
            locked.recipients_done = max(locked.recipients_done, done)
            locked.recipients_count = max(locked.recipients_count, locked.recipients_done)
            locked.save(update_fields=["recipients_done", "recipients_count", "updated_at"])
    with transaction.atomic():
        locked = _mailing_for_update(mailing_id)
        if locked.status == Mailing.Status.SENDING:
            queued = selectors.mailing_outbox(mailing=locked).count()
            locked.status = Mailing.Status.SENT
            locked.sent_at = timezone.now()
            locked.recipients_count = locked.recipients_done = queued
            locked.save(
                update_fields=[
                    "status",
                    "sent_at",
                    "recipients_count",
                    "recipients_done",
                    "updated_at",
                ]
            )
    return locked


def mailings_resume(*, now=None) -> int:
    """Queue the send job again for every SENDING mailing that made no progress for
    STALE_AFTER (its task was lost); returns how many. Safe to run as often as wanted: the job
    is idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = Mailing.objects.filter(
            status=Mailing.Status.SENDING, updated_at__lt=now - STALE_AFTER
        )
        if connection.features.has_select_for_update_skip_locked:
            stale = stale.select_for_update(skip_locked=True)
        ids = list(stale.values_list("pk", flat=True))
        # A fresh updated_at: the next sweep waits STALE_AFTER for this run to show progress.
        Mailing.objects.filter(pk__in=ids).update(updated_at=timezone.now())
        for pk in ids:
            transaction.on_commit(lambda pk=pk: _queue_job(pk))
    return len(ids)


def unsubscribe_record(*, token: str, scope: str | None = None) -> Unsubscribe:
    """Record an unsubscription from a signed link. Idempotent.

    `scope` may widen the link's scope to all mailings (the page offers it); it can never name
    an arbitrary other scope.
    """
    email_hash, link_scope = unsubscribe_from_token(token)
    if scope not in (None, link_scope, Unsubscribe.ALL):
        raise RuleViolation(_("Choose what to unsubscribe from."), code="invalid", conflict=False)
    with transaction.atomic():
        row, _created = Unsubscribe.objects.get_or_create(
            email_hash=email_hash, scope=scope or link_scope
        )
    return row
