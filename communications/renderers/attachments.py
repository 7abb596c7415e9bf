"""Attachment specs (see docs/contracts.md, Outbox) -> (filename, bytes, mimetype).

Called by the outbox sender at send time. PDFs reflect the rows as they are then (a renamed
attendee); an .ics spec carries the event's scheduling state (times, place, status, SEQUENCE)
as it was when its mail was queued (`event`, see communications.calendars), its title and
description are read now; without a snapshot (downloads, older specs) all of it is read now.
This is the thin row-loading layer over the pure renderers.
Unknown or malformed specs and missing rows raise ValueError / LookupError: the sender records
the failure and retries, it never sends a mail without its promised attachment.
"""

import dataclasses
import importlib

from django.conf import settings
from django.utils.text import slugify

from ..calendars import calendar_event
from .data import CalendarAttendee
from .ics import render_ics

PDF = "application/pdf"


class AttachmentUnavailable(LookupError):
    """The row the spec points at no longer exists."""


def _ticket(ticket_id: int, loaded: dict | None = None):
    from participants.models import Ticket

    if loaded is not None and ("ticket", ticket_id) in loaded:
        return loaded[("ticket", ticket_id)]
    ticket = (
        Ticket.objects.select_related("event", "person", "ticket_type", "registration")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise AttachmentUnavailable(f"ticket {ticket_id} does not exist")
    if loaded is not None:
        loaded[("ticket", ticket_id)] = ticket
    return ticket


def _ticket_pdf(spec: dict, loaded: dict | None = None, recipient=None) -> tuple[str, bytes, str]:
    from communications.documents import ticket_pdf_bytes

    ticket = _ticket(int(spec["ticket_id"]), loaded)
    name = f"ticket-{slugify(ticket.event.title)[:40]}-{ticket.registration.code}.pdf"
    # Stored bytes when this exact ticket was rendered before (bulk on confirmation, or an
    # earlier mail); rendered now otherwise. The renderer itself stays pure.
    return name, ticket_pdf_bytes(ticket), PDF


def _ics(spec: dict, loaded: dict | None = None, recipient=None) -> tuple[str, bytes, str]:
    from events.models import Event

    method = str(spec.get("method", "REQUEST")).upper()
    if method not in ("REQUEST", "CANCEL", "PUBLISH"):
        raise ValueError(f"ics attachment: unknown method {method!r}")
    removed = bool(spec.get("attendee_removed"))
    ticket = None
    if spec.get("ticket_id"):
        ticket = _ticket(int(spec["ticket_id"]), loaded)
        if spec.get("event_id") and int(spec["event_id"]) != ticket.event_id:
            raise ValueError("ics attachment: ticket belongs to another event")
        method = method if method != "PUBLISH" else "REQUEST"
    event = ticket.event if ticket is not None else None
    if event is None:
        event = Event.objects.filter(pk=int(spec["event_id"])).first()
    if event is None:
        raise AttachmentUnavailable(f"event {spec['event_id']} does not exist")
    item = calendar_event(event)
    if spec.get("event") is not None:
        # The scheduling state as it was when the mail was queued (communications.calendars):
        # a mail that waited in a backlog still says what the change it announces said.
        # Without one (a download, a spec from before snapshots) it is the event as it is now.
        try:
            item = item.with_snapshot(spec["event"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"ics attachment: bad event snapshot ({exc})") from exc
    attendee = None
    if ticket is not None:
        # The mail's addressee: after a ticket changed hands, the previous holder's CANCEL
        # must name the previous holder, not the ticket's new one.
        person = ticket.person
        attendee = recipient or CalendarAttendee(
            name=person.name, email=person.email, language=person.preferred_language
        )
    elif spec.get("attendee") == "recipient" and recipient is not None and method != "PUBLISH":
        # A personal invite to whoever the mail goes to (a school contact, an ambassador,
        # a journalist): calendar clients update or remove the entry by UID and SEQUENCE.
        # The address comes from the mail row, so the spec itself holds no personal data.
        attendee = recipient
    if attendee is None:
        # iTIP REQUEST/CANCEL need an ATTENDEE; without one this is a plain PUBLISH (a
        # cancellation of the event still arrives as STATUS:CANCELLED, same UID and SEQUENCE).
        if method == "CANCEL" and not removed:
            item = dataclasses.replace(item, cancelled=True)
        method, removed = "PUBLISH", False
    elif method == "REQUEST" and item.cancelled:
        # Rendered live for a cancelled event: an invite would contradict itself.
        method = "CANCEL"
    content = render_ics(
        events=[item],
        method=method,
        organiser_name=settings.ORGANISER_NAME,
        organiser_email=settings.ORGANISER_EMAIL,
        attendee=attendee,
        attendee_removed=removed and method == "CANCEL",
    )
    # iTIP mail clients look at the method parameter of the content type. One charset
    # parameter: the MIME writers (communications.mime) keep it single.
    return (
        f"{slugify(item.summary)[:40] or 'event'}.ics",
        content,
        f"text/calendar; charset=utf-8; method={method}",
    )


def _certificate_pdf(
    spec: dict, loaded: dict | None = None, recipient=None
) -> tuple[str, bytes, str]:
    from communications.documents import certificate_filename, certificate_pdf_bytes
    from communications.models import Certificate

    certificate = (
        Certificate.objects.select_related("event", "participation", "participation__organisation")
        .filter(pk=int(spec["certificate_id"]))
        .first()
    )
    if certificate is None:
        raise AttachmentUnavailable(f"certificate {spec['certificate_id']} does not exist")
    return certificate_filename(certificate), certificate_pdf_bytes(certificate), PDF


def _invoice_pdf(spec: dict, loaded: dict | None = None, recipient=None) -> tuple[str, bytes, str]:
    # Invoices belong to payments; dispatch when that renderer exists.
    try:
        renderers = importlib.import_module("payments.renderers")
    except ModuleNotFoundError as exc:
        raise LookupError("payments.renderers is not available yet") from exc
    result = renderers.render_invoice_pdf(int(spec["invoice_id"]))
    if isinstance(result, tuple) and len(result) == 3:
        return result
    if isinstance(result, tuple) and len(result) == 2:
        return result[0], result[1], PDF
    return f"invoice-{spec['invoice_id']}.pdf", result, PDF


RENDERERS = {
    "ticket_pdf": _ticket_pdf,
    "ics": _ics,
    "certificate_pdf": _certificate_pdf,
    "invoice_pdf": _invoice_pdf,
}


def render_attachment(
    spec: dict, loaded: dict | None = None, recipient=None
) -> tuple[str, bytes, str]:
    """Render one attachment spec to (filename, content, mimetype).

    `recipient` (a CalendarAttendee: the mail's own addressee) is the attendee of an .ics
    spec that says ``"attendee": "recipient"``.

    `loaded` is an optional per-mail dict of rows already read: a confirmation carries the
    ticket PDF and the .ics of the same ticket, which then costs one query instead of two.
    """
    try:
        renderer = RENDERERS[spec["type"]]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"unknown attachment spec {spec!r}") from exc
    try:
        return renderer(spec, loaded, recipient)
    except KeyError as exc:
        raise ValueError(f"attachment spec {spec!r} misses {exc}") from exc
