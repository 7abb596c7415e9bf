"""Renders a mailing's text for one outbox row (used by templates/mail/mailing.*)."""

from django import template
from django.utils import translation
from django.utils.safestring import mark_safe

from ..rendering import fill_placeholders, paragraphs, paragraphs_html

register = template.Library()


@register.simple_tag(takes_context=True)
def mailing_content(context) -> dict:
    """Subject and paragraphs in the mail's language, placeholders filled in.

    The organiser's text is escaped for HTML (paragraphs_html) and never parsed as a template.
    """
    from ..models import Mailing

    mailing = Mailing.objects.select_related("event").get(pk=context["mailing_id"])
    mail = context.get("mail")
    values = dict(context.get("placeholders") or {})
    values["email"] = getattr(mail, "to_email", "")
    values["event"] = mailing.event.title if mailing.event_id else ""
    english = translation.get_language() == "en" and mailing.body_en
    subject = mailing.subject_en if english else mailing.subject_nl
    body = mailing.body_en if english else mailing.body_nl
    filled = fill_placeholders(body, values)
    return {
        "subject": fill_placeholders(subject, values),
        "paragraphs": paragraphs(filled),
        # Escaped here; safe to output as HTML.
        "paragraphs_html": [mark_safe(p) for p in paragraphs_html(filled)],  # noqa: S308
    }
