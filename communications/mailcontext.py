"""Template context for a mail: the outbox row keeps only ids, the rows are loaded fresh here.

Read-only. Loading at send time (not at queue time) means a mail sent after a change shows the
current name, time and place.
"""

import logging

from django.apps import apps
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from .models import OutboxMail

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _link(name: str, row) -> str:
    """A personal signed link from participants.links; empty when that part is not installed."""
    try:
        from participants import links
    except ImportError:  # pragma: no cover - participants.links is part of the product
        logger.warning("participants.links is missing; mail sent without personal link")
        return ""
    try:
        return getattr(links, name)(row)
    except (AttributeError, NoReverseMatch):
        logger.warning("personal link %s unavailable", name, exc_info=True)
        return ""


def event_url(event) -> str:
    return absolute_url(reverse("events:detail", kwargs={"slug": event.slug}))


def _event_context(event) -> dict:
    return {"event": event, "event_url": event_url(event)}


TICKET_RELATED = ("event", "person", "registration", "ticket_type", "registration__booker")


def _ticket_context(ticket_id: int, rows: dict | None = None) -> dict:
    ticket = (rows or {}).get(("ticket", ticket_id))
    if ticket is None:
        Ticket = apps.get_model("participants", "Ticket")
        ticket = Ticket.objects.select_related(*TICKET_RELATED).get(pk=ticket_id)
    return {
        "ticket": ticket,
        "registration": ticket.registration,
        "person": ticket.person,
        "manage_url": _link("ticket_manage_url", ticket),
        **_event_context(ticket.event),
    }


def _registration_tickets():
    Ticket = apps.get_model("participants", "Ticket")
    return Ticket.objects.select_related("person", "ticket_type").order_by("pk")


def _registration_context(registration_id: int, rows: dict | None = None) -> dict:
    registration = (rows or {}).get(("registration", registration_id))
    if registration is None:
        Registration = apps.get_model("participants", "Registration")
        registration = Registration.objects.select_related("event", "booker", "organisation").get(
            pk=registration_id
        )
        tickets = list(_registration_tickets().filter(registration=registration))
    else:
        tickets = list(registration.tickets.all())  # prefetched by preload_rows
    return {
        "registration": registration,
        "tickets": tickets,
        "person": registration.booker,
        "manage_url": _link("booking_manage_url", registration),
        **_event_context(registration.event),
    }


def _entry_context(entry_id: int) -> dict:
    Entry = apps.get_model("participants", "WaitingListEntry")
    entry = Entry.objects.select_related("event", "person", "ticket_type").get(pk=entry_id)
    return {
        "entry": entry,
        "person": entry.person,
        "offer_url": _link("waitlist_offer_url", entry),
        **_event_context(entry.event),
    }


def _participation_context(participation_id: int) -> dict:
    Participation = apps.get_model("participants", "CampaignParticipation")
    participation = Participation.objects.select_related("event", "organisation", "contact").get(
        pk=participation_id
    )
    labels = dict(Participation.Activity.choices)
    return {
        "participation": participation,
        "organisation": participation.organisation,
        "person": participation.contact,
        "activities": [str(labels.get(a, a)) for a in participation.activities],
        "manage_url": _link("participation_manage_url", participation),
        **_event_context(participation.event),
    }


def _certificate_context(certificate_id: int) -> dict:
    Certificate = apps.get_model("communications", "Certificate")
    certificate = Certificate.objects.select_related(
        "event", "ticket__person", "participation__organisation", "participation__contact"
    ).get(pk=certificate_id)
    context: dict = {"certificate": certificate, **_event_context(certificate.event)}
    if certificate.ticket_id:
        context["person"] = certificate.ticket.person
    if certificate.participation_id:
        context.update(
            person=certificate.participation.contact,
            organisation=certificate.participation.organisation,
        )
    verify_url = ""
    for name in ("documents:certificate_verify", "communications:certificate_verify"):
        try:
            verify_url = absolute_url(reverse(name, kwargs={"code": certificate.code}))
            break
        except NoReverseMatch:
            continue
    context.update(verification_code=certificate.code, verify_url=verify_url)
    return context


def preload_rows(mails: list[OutboxMail]) -> dict:
    """The tickets and registrations a batch of mails refers to, one query per kind instead of
    one or two per mail; pass the result to `mail_context(mail, rows=...)`.

    Keys are `("ticket", pk)` and `("registration", pk)`; a ticket is loaded with everything its
    mail body and its attachments use (communications.renderers.attachments takes the same dict
    as `loaded`). Rows missing here (deleted since) are simply absent: `mail_context` then reads
    them itself and raises DoesNotExist as it always did. Language-dependent values (links) are
    not computed here.
    """
    ticket_ids: set[int] = set()
    registration_ids: set[int] = set()
    for mail in mails:
        ids = mail.context if isinstance(mail.context, dict) else {}
        if isinstance(ids.get("ticket_id"), int):
            ticket_ids.add(ids["ticket_id"])
        if isinstance(ids.get("registration_id"), int):
            registration_ids.add(ids["registration_id"])
    rows: dict = {}
    if ticket_ids:
        Ticket = apps.get_model("participants", "Ticket")
        for ticket in Ticket.objects.select_related(*TICKET_RELATED).filter(pk__in=ticket_ids):
            rows[("ticket", ticket.pk)] = ticket
    if registration_ids:
        from django.db.models import Prefetch

        Registration = apps.get_model("participants", "Registration")
        registrations = (
            Registration.objects.select_related("event", "booker", "organisation")
            .prefetch_related(Prefetch("tickets", queryset=_registration_tickets()))
            .filter(pk__in=registration_ids)
        )
        for registration in registrations:
            rows[("registration", registration.pk)] = registration
    return rows


def mail_context(mail: OutboxMail, *, rows: dict | None = None) -> dict:
    """Everything a mail template may use. Plain values in mail.context pass through.

    `rows` (optional, from `preload_rows`) holds rows already read for a batch of mails.
    """
    context = {**mail.context, "mail": mail, "site_url": settings.SITE_URL}
    ids = mail.context
    if "ticket_id" in ids:
        context.update(_ticket_context(ids["ticket_id"], rows))
    if "registration_id" in ids:
        context.update(_registration_context(ids["registration_id"], rows))
    if "entry_id" in ids:
        context.update(_entry_context(ids["entry_id"]))
    if "participation_id" in ids:
        context.update(_participation_context(ids["participation_id"]))
    if "certificate_id" in ids:
        context.update(_certificate_context(ids["certificate_id"]))
    if "person_id" in ids:
        # A swapped ticket: the mail goes to the person who held it, not the new attendee.
        Person = apps.get_model("participants", "Person")
        context["person"] = Person.objects.get(pk=ids["person_id"])
    if "event_id" in ids and "event" not in context:
        Event = apps.get_model("events", "Event")
        context.update(_event_context(Event.objects.get(pk=ids["event_id"])))
    context.setdefault("person", None)
    context["recipient_name"] = mail.to_name or (
        context["person"].name if context["person"] else ""
    )
    context["organiser_name"] = settings.ORGANISER_NAME
    context["organiser_email"] = settings.ORGANISER_EMAIL
    return context
