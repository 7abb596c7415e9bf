"""Reads of the outbox shared by the organiser pages (and any future export or API)."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import OutboxMail
from .sending import render_mail


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


@dataclass(frozen=True)
class MailPreview:
    """A mail's subject and plain-text body, for showing in an organiser's page."""

    subject: str
    text: str
    headers: dict[str, str]


def _plain(text: str) -> str:
    # The text templates render with autoescape off, and Django marks any rendered template
    # safe: shown as is in a page, a visitor's name like '<meta http-equiv="refresh" ...>'
    # would be live markup. join() builds a new, plain str, which the page template escapes.
    return "".join([text])


def mail_preview(mail: OutboxMail) -> MailPreview:
    """The mail as its recipient gets it (same templates and headers, in their language), as
    plain text that every page must escape. Pure: reads, never writes; the row may be unsaved.
    Every page that shows a mail's text goes through here (outbox, mailing and press
    previews)."""
    message = render_mail(mail)
    return MailPreview(
        subject=_plain(message.subject),
        text=_plain(message.body),
        headers={k: _plain(v) for k, v in message.extra_headers.items()},
    )
