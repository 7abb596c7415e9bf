"""Reads of the outbox shared by the organiser pages (and any future export or API)."""

from django.db.models import Q, QuerySet

from .models import OutboxMail


def outbox_list(
    *,
    status: str = "",
    template: str = "",
    event_id: int | None = None,
    recipient: str = "",
) -> QuerySet[OutboxMail]:
    mails = OutboxMail.objects.select_related("event").order_by("-created_at", "-id")
    if status:
        mails = mails.filter(status=status)
    if template:
        mails = mails.filter(template=template)
    if event_id:
        mails = mails.filter(event_id=event_id)
    if recipient:
        mails = mails.filter(Q(to_email__icontains=recipient) | Q(to_name__icontains=recipient))
    return mails


def outbox_templates() -> list[str]:
    return list(
        OutboxMail.objects.order_by("template").values_list("template", flat=True).distinct()
    )


def outbox_resends(*, mail: OutboxMail) -> QuerySet[OutboxMail]:
    """The row itself and every resend of it, oldest first: the history of one mail."""
    base_key = mail.key.split(":resend:")[0]
    return OutboxMail.objects.filter(
        Q(key=base_key) | Q(key__startswith=f"{base_key}:resend:")
    ).order_by("created_at", "id")
