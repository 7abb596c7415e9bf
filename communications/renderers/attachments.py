"""Attachment specs (see docs/contracts.md, Outbox) -> (filename, bytes, mimetype).

Called by the outbox sender at send time, so the attachment reflects the rows as they are then
(a changed venue, a renamed attendee). This is the thin row-loading layer over the pure renderers.
Unknown or malformed specs and missing rows raise ValueError / LookupError: the sender records
the failure and retries, it never sends a mail without its promised attachment.
"""

import importlib

from django.utils.text import slugify

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
    from communications.documents import attendee_ics, event_ics, ticket_ics
    from events.models import Event

    method = str(spec.get("method", "REQUEST")).upper()
    if method not in ("REQUEST", "CANCEL", "PUBLISH"):
        raise ValueError(f"ics attachment: unknown method {method!r}")
    if spec.get("ticket_id"):
        ticket = _ticket(int(spec["ticket_id"]), loaded)
        if spec.get("event_id") and int(spec["event_id"]) != ticket.event_id:
            raise ValueError("ics attachment: ticket belongs to another event")
        content = ticket_ics(ticket=ticket, method=method if method != "PUBLISH" else "REQUEST")
        event = ticket.event
    else:
        event = Event.objects.filter(pk=int(spec["event_id"])).first()
        if event is None:
            raise AttachmentUnavailable(f"event {spec['event_id']} does not exist")
        if spec.get("attendee") == "recipient" and recipient is not None and method != "PUBLISH":
            # A personal invite to whoever the mail goes to (a school contact, an ambassador,
            # a journalist): calendar clients update or remove the entry by UID and SEQUENCE.
            # The address comes from the mail row, so the spec itself holds no personal data.
            content = attendee_ics(event=event, attendee=recipient, method=method)
        else:
            # iTIP REQUEST/CANCEL need an ATTENDEE; without one this is a plain PUBLISH (a
            # cancellation still arrives as STATUS:CANCELLED with the same UID and SEQUENCE).
            content = event_ics(events=[event], method="PUBLISH", cancelled=method == "CANCEL")
            method = "PUBLISH"
    # iTIP mail clients look at the method parameter of the content type.
    return (
        f"{slugify(event.title)[:40] or 'event'}.ics",
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
