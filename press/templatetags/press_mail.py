"""Mail templates get only ids (the outbox keeps ids); this tag loads the press rows at send
time, so a mail shows the moment as it is then. Read-only."""

from django import template
from django.apps import apps
from django.utils import timezone

register = template.Library()


@register.simple_tag(takes_context=True)
def press_mail_context(context) -> dict:
    from press import links

    Invitation = apps.get_model("press", "PressInvitation")
    Journalist = apps.get_model("press", "Journalist")
    MediaMoment = apps.get_model("press", "MediaMoment")
    InterviewSlot = apps.get_model("press", "InterviewSlot")
    data: dict = {}
    if context.get("invitation_id"):
        invitation = Invitation.objects.select_related(
            "moment__event", "journalist__person", "journalist__outlet"
        ).get(pk=context["invitation_id"])
        data.update(
            invitation=invitation,
            moment=invitation.moment,
            journalist=invitation.journalist,
            invitation_url=links.invitation_url(invitation),
        )
    else:
        # Staff preview before sending: no invitation row yet, so no personal link.
        data.update(
            moment=MediaMoment.objects.select_related("event").get(pk=context["preview_moment_id"]),
            journalist=Journalist.objects.select_related("person", "outlet").get(
                pk=context["preview_journalist_id"]
            ),
            invitation_url="[persoonlijke link / personal link]",
        )
    moment = data["moment"]
    data["event"] = moment.event
    real = "invitation" in data
    data["removal_url"] = links.removal_url(data["journalist"]) if real else data["invitation_url"]
    data["my_invitations_url"] = (
        links.journalist_url(data["journalist"]) if real else data["invitation_url"]
    )
    data["embargo_until"] = (
        timezone.localtime(moment.embargo_until) if moment.under_embargo() else None
    )
    data["spokespersons"] = list(moment.spokespersons.select_related("person"))
    data["has_slots"] = moment.slots.exists()
    if context.get("slot_id"):
        data["slot"] = InterviewSlot.objects.select_related("spokesperson__person").get(
            pk=context["slot_id"]
        )
    return data
