"""Reads for privacy pages: the audit log and a person's data export (inzageverzoek)."""

import json
from datetime import date, datetime, time

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils import timezone

from participants.models import Person

from .models import AuditEntry

# Credentials, not information about the person: a leaked export must not open their tickets.
SECRET_FIELDS = {"secret", "password", "key_hash", "client_fingerprint", "session_data"}


def audit_list(
    *,
    actor_id: int | None = None,
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if actor_id:
        entries = entries.filter(actor_id=actor_id)
    if action:
        entries = entries.filter(action=action)
    tz = timezone.get_current_timezone()
    if date_from:
        entries = entries.filter(created_at__gte=datetime.combine(date_from, time.min, tz))
    if date_to:
        entries = entries.filter(created_at__lte=datetime.combine(date_to, time.max, tz))
    return entries.order_by("-created_at", "-id")


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def _serialise(queryset) -> list[dict]:
    rows = []
    for item in serializers.serialize("python", queryset):
        fields = {k: v for k, v in item["fields"].items() if k not in SECRET_FIELDS}
        rows.append({"model": item["model"], "id": item["pk"], **fields})
    return rows


def _related_rows(model_targets: dict, seen: set) -> dict[str, list]:
    """Rows of every model with a foreign key to one of the collected rows (one level)."""
    out: dict[str, list] = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in seen or model._meta.app_label in ("admin", "sessions", "privacy"):
            continue
        match = Q()
        for field in model._meta.fields:
            target = getattr(field, "related_model", None)
            if field.is_relation and target is not None:
                ids = model_targets.get(target._meta.label_lower)
                if ids:
                    match |= Q(**{f"{field.name}__in": ids})
        if match:
            rows = _serialise(model.objects.filter(match).order_by("pk"))
            if rows:
                out[label] = rows
    return out


def person_data_export(*, email: str) -> dict:
    """Everything stored about the person(s) with this e-mail address, per model.

    Walks the schema instead of listing models, so rows in apps added later (ambassadors,
    journalists, ...) are included without changing this function: first the rows that hold
    the address or point at the person, then the rows that point at those (answers, payments,
    invoices, certificates, availability, ...).
    """
    email = (email or "").strip()
    people = Person.objects.filter(email__iexact=email)
    person_ids = list(people.values_list("pk", flat=True))
    User = apps.get_model(settings.AUTH_USER_MODEL)
    user_ids = list(User.objects.filter(email__iexact=email).values_list("pk", flat=True))
    data: dict[str, list] = {}
    if person_ids:
        data["participants.person"] = _serialise(people.order_by("pk"))
    if user_ids:
        data[User._meta.label_lower] = [
            {k: v for k, v in row.items() if k not in ("password", "user_permissions", "groups")}
            for row in _serialise(User.objects.filter(pk__in=user_ids))
        ]
    # Rows found by address rather than by a link to the person.
    for label, field in (
        ("communications.outboxmail", "to_email"),
        ("organisations.invitation", "email"),
        ("payments.invoice", "buyer_email"),
    ):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        rows = _serialise(model.objects.filter(**{f"{field}__iexact": email}).order_by("pk"))
        if rows:
            data[label] = rows
    targets = {"participants.person": person_ids, User._meta.label_lower: user_ids}
    level1 = _related_rows(targets, seen={"participants.person", User._meta.label_lower})
    for label, rows in level1.items():
        known = {row["id"] for row in data.get(label, [])}
        data.setdefault(label, []).extend(row for row in rows if row["id"] not in known)
    level1_targets = {label: [row["id"] for row in rows] for label, rows in data.items()}
    # Second level: skip models already exported and people (other attendees on the booking).
    level2 = _related_rows(level1_targets, seen=set(data) | {"participants.person"})
    data.update(level2)
    from mailings.selectors import email_hash

    Unsubscribe = apps.get_model("mailings", "Unsubscribe")
    unsubscribed = list(
        Unsubscribe.objects.filter(email_hash=email_hash(email)).values("scope", "created_at")
    )
    return {
        "email": email,
        "exported_at": timezone.now(),
        "unsubscribed_from_mailings": unsubscribed,
        "records": data,
    }


def person_data_export_json(*, email: str) -> bytes:
    return json.dumps(
        person_data_export(email=email), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
    ).encode()
