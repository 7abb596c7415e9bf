"""Writing and sending mailings, and unsubscribing from them."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from communications.services import mail_enqueue
from privacy.services import audit_record

from . import selectors
from .links import unsubscribe_from_token, unsubscribe_url
from .models import Mailing, Segment, Unsubscribe
from .rendering import unknown_placeholders

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


def mailing_send(*, mailing: Mailing, user, request=None) -> int:
    """Queue one outbox mail per recipient; returns how many.

    The mailing row is locked and must still be a draft, and every row has the key
    `mailing:{id}:{email}`: a double click, a retried request or a race on a database without
    row locks never mails anyone twice.
    """
    with transaction.atomic():
        mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
        if mailing.status == Mailing.Status.SENT:
            raise RuleViolation(_("This mailing has already been sent."), code="already_sent")
        send, excluded = selectors.mailing_recipients(mailing=mailing)
        if not send:
            raise RuleViolation(_("Nobody would receive this mailing."), code="no_recipients")
        for recipient in send:
            mail_enqueue(
                key=f"{mailing.outbox_key_prefix()}{recipient.email}",
                template="mailing",
                to_email=recipient.email,
                to_name=recipient.name,
                language=recipient.language if mailing.body_en else "nl",
                context=mailing_outbox_context(mailing=mailing, recipient=recipient),
                event_id=mailing.event_id,
            )
        mailing.status = Mailing.Status.SENT
        mailing.sent_at = timezone.now()
        mailing.sent_by = user
        mailing.recipients_count = len(send)
        mailing.excluded_count = len(excluded)
        mailing.save(
            update_fields=[
                "status",
                "sent_at",
                "sent_by",
                "recipients_count",
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
    return len(send)


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
