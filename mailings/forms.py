from django import forms
from django.utils.translation import gettext_lazy as _

from common.validators import CleanTextFormMixin
from events.models import Event
from organisations.models import Region
from privacy.forms import AccessibleFormMixin

from .models import Segment


class MailingForm(AccessibleFormMixin, forms.Form):
    """Input parsing only; the rules (which segment needs an event, placeholders) are checked by
    mailings.services and shown next to the fields."""

    segment = forms.ChoiceField(label=_("Recipients"), choices=Segment.choices)
    event = forms.ModelChoiceField(
        label=_("Event"),
        required=False,
        queryset=Event.objects.order_by("-starts_at"),
        empty_label=_("No event"),
        help_text=_(
            "For attendees of an event and for organisations taking part in a campaign week."
        ),
    )
    region = forms.ModelChoiceField(
        label=_("Region"),
        required=False,
        queryset=Region.objects.order_by("name"),
        empty_label=_("All regions"),
    )
    media_type = forms.CharField(
        label=_("Press list: media type"),
        required=False,
        max_length=20,
        help_text=_("Only for the press list, e.g. print, online, radio or tv."),
    )
    topic = forms.CharField(
        label=_("Press list: topic"),
        required=False,
        max_length=100,
        help_text=_("Only for the press list: journalists whose topics contain this word."),
    )
    subject_nl = forms.CharField(label=_("Subject (Dutch)"), max_length=200, required=False)
    body_nl = forms.CharField(
        label=_("Message (Dutch)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_(
            "Plain text; an empty line starts a new paragraph. Placeholders: {{ naam }}, "
            "{{ email }}, {{ organisatie }}, {{ evenement }}."
        ),
    )
    subject_en = forms.CharField(label=_("Subject (English)"), max_length=200, required=False)
    body_en = forms.CharField(
        label=_("Message (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("Optional. Recipients who prefer English get this version."),
    )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        filters = {k: data[k].strip() for k in ("media_type", "topic") if data.get(k, "").strip()}
        return {
            "segment": data["segment"],
            "event": data["event"],
            "region": data["region"],
            "filters": filters,
            "subject_nl": data["subject_nl"],
            "body_nl": data["body_nl"],
            "subject_en": data["subject_en"],
            "body_en": data["body_en"],
        }

    @classmethod
    def initial_for(cls, mailing) -> dict:
        return {
            "segment": mailing.segment,
            "event": mailing.event_id,
            "region": mailing.region_id,
            "media_type": mailing.filters.get("media_type", ""),
            "topic": mailing.filters.get("topic", ""),
            "subject_nl": mailing.subject_nl,
            "body_nl": mailing.body_nl,
            "subject_en": mailing.subject_en,
            "body_en": mailing.body_en,
        }


class PreviewForm(CleanTextFormMixin, forms.Form):
    recipient = forms.ChoiceField(label=_("Preview for"))

    def __init__(self, *args, recipients=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].choices = [
            (r.email, f"{r.name} <{r.email}>" if r.name else r.email) for r in recipients
        ]
