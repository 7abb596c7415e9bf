"""Reads for mailings: who a segment reaches, who is excluded, delivery figures."""

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, QuerySet
from django.utils.crypto import salted_hmac

from communications.models import OutboxMail
from communications.selectors import mail_preview
from participants.models import CampaignParticipation, Ticket

from .models import Mailing, Segment, Unsubscribe


@dataclass(frozen=True)
class Recipient:
    email: str  # lower-cased: one mail per address, whatever the capitalisation
    name: str
    language: str
    organisation: str = ""
    person_id: int | None = None


def email_hash(email: str) -> str:
    """A keyed hash of the normalised address (the key is SECRET_KEY; not reversible by
    hashing a list of known addresses without it)."""
    return salted_hmac("mailings.unsubscribe", (email or "").strip().lower()).hexdigest()


def _people_recipients(rows) -> list[Recipient]:
    """rows: (email, name, language, organisation name, person id); first row per address wins."""
    seen: dict[str, Recipient] = {}
    for email, name, language, organisation, person_id in rows:
        key = (email or "").strip().lower()
        if not key or key.endswith("@anonymised.invalid") or key in seen:
            continue
        seen[key] = Recipient(
            email=key,
            name=name or "",
            language=language if language in ("nl", "en") else "nl",
            organisation=organisation or "",
            person_id=person_id,
        )
    return sorted(seen.values(), key=lambda r: (r.name.lower(), r.email))


def press_available() -> bool:
    return apps.is_installed("press")


def ambassadors_available() -> bool:
    return apps.is_installed("schools")


def segment_recipients(
    *, segment: str, event=None, region=None, filters: dict | None = None
) -> list[Recipient]:
    """Everyone the segment reaches, before unsubscriptions are taken out."""
    filters = filters or {}
    fields = (
        "person__email",
        "person__name",
        "person__preferred_language",
        "person__organisation__name",
        "person_id",
    )
    if segment == Segment.EVENT_ATTENDEES:
        if event is None:
            return []
        tickets = Ticket.objects.filter(
            event=event, status=Ticket.Status.VALID, person__anonymised_at__isnull=True
        ).order_by("id")
        return _people_recipients(tickets.values_list(*fields))
    if segment == Segment.CAMPAIGN_ORGANISATIONS:
        if event is None:
            return []
        participations = CampaignParticipation.objects.filter(
            event=event, contact__anonymised_at__isnull=True
        ).exclude(status=CampaignParticipation.Status.CANCELLED)
        if region is not None:
            participations = participations.filter(organisation__region=region)
        return _people_recipients(
            participations.order_by("id").values_list(
                "contact__email",
                "contact__name",
                "contact__preferred_language",
                "organisation__name",
                "contact_id",
            )
        )
    if segment == Segment.AMBASSADORS and ambassadors_available():
        Ambassador = apps.get_model("schools", "Ambassador")
        ambassadors = Ambassador.objects.filter(person__anonymised_at__isnull=True)
        if "is_active" in {f.name for f in Ambassador._meta.get_fields()}:
            ambassadors = ambassadors.filter(is_active=True)
        if region is not None:
            ambassadors = ambassadors.filter(regions=region)
        return _people_recipients(ambassadors.order_by("id").values_list(*fields))
    if segment == Segment.PRESS and press_available():
        Journalist = apps.get_model("press", "Journalist")
        # Removed journalists asked to be taken off the list: never mail them again.
        journalists = Journalist.objects.filter(
            removed_at__isnull=True, person__anonymised_at__isnull=True
        )
        if region is not None:
            journalists = journalists.filter(region=region)
        if filters.get("media_type"):
            journalists = journalists.filter(media_type=filters["media_type"])
        if filters.get("topic"):
            journalists = journalists.filter(topics__icontains=filters["topic"])
        return _people_recipients(
            journalists.order_by("id").values_list(
                "person__email",
                "person__name",
                "person__preferred_language",
                "outlet__name",
                "person_id",
            )
        )
    return []


def unsubscribed_hashes(*, segment: str, hashes: list[str]) -> set[str]:
    rows = Unsubscribe.objects.filter(
        email_hash__in=hashes, scope__in=[Unsubscribe.ALL, segment]
    ).values_list("email_hash", flat=True)
    return set(rows)


def mailing_recipients(*, mailing: Mailing) -> tuple[list[Recipient], list[Recipient]]:
    """(who gets it, who is left out because they unsubscribed)."""
    everyone = segment_recipients(
        segment=mailing.segment,
        event=mailing.event,
        region=mailing.region,
        filters=mailing.filters,
    )
    hashes = {r.email: email_hash(r.email) for r in everyone}
    # Chunked: an IN list of a few thousand hashes per query stays well within SQLite's limit.
    out: set[str] = set()
    values = list(hashes.values())
    for start in range(0, len(values), 500):
        out |= unsubscribed_hashes(segment=mailing.segment, hashes=values[start : start + 500])
    send = [r for r in everyone if hashes[r.email] not in out]
    excluded = [r for r in everyone if hashes[r.email] in out]
    return send, excluded


def mailing_outbox(*, mailing: Mailing) -> QuerySet[OutboxMail]:
    return OutboxMail.objects.filter(
        template="mailing", key__startswith=mailing.outbox_key_prefix()
    )


def mailing_delivery(*, mailing: Mailing) -> dict[str, int]:
    """Counts per outbox status: queued (incl. sending/retrying), sent, failed."""
    counts = dict(
        mailing_outbox(mailing=mailing)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    S = OutboxMail.Status
    return {
        "queued": counts.get(S.QUEUED, 0) + counts.get(S.SENDING, 0),
        "retrying": counts.get(S.RETRYING, 0),
        "sent": counts.get(S.SENT, 0),
        "failed": counts.get(S.FAILED, 0),
        "total": sum(counts.values()),
    }


def mailing_list() -> QuerySet[Mailing]:
    return Mailing.objects.select_related("event", "region").order_by("-created_at", "-id")


def mailing_preview(*, mailing: Mailing, recipient: Recipient) -> dict:
    """The mail exactly as this recipient would get it (same templates and headers), rendered
    from an unsaved outbox row: nothing is written."""
    from .services import mailing_outbox_context

    mail = OutboxMail(
        key=f"{mailing.outbox_key_prefix()}{recipient.email}",
        template="mailing",
        to_email=recipient.email,
        to_name=recipient.name,
        language=recipient.language if mailing.body_en else "nl",
        context=mailing_outbox_context(mailing=mailing, recipient=recipient),
        event_id=mailing.event_id,
    )
    preview = mail_preview(mail)
    return {
        "subject": preview.subject,
        "text": preview.text,
        "headers": {k: v for k, v in preview.headers.items() if k.startswith("List-Unsubscribe")},
    }
