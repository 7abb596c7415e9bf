from django import forms
from django.utils.translation import gettext_lazy as _

from common.validators import CleanTextFormMixin
from events.models import Event

from .exports import export_specs
from .models import ExportJob
from .permissions import campaigns_visible


class ExportForm(CleanTextFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("What"))
    format = forms.ChoiceField(label=_("File format"), choices=ExportJob.Format.choices)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=None, required=False, empty_label=_("All my campaigns")
    )
    event = forms.ModelChoiceField(
        label=_("Event"), queryset=None, required=False, empty_label=_("All events")
    )
    language = forms.ChoiceField(
        label=_("Language of the column headers"),
        choices=[("nl", "Nederlands"), ("en", "English")],
        initial="nl",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ExportJob.Kind.choices)
        self.fields["kind"].choices = [(kind, labels[kind]) for kind in export_specs()]
        campaigns = campaigns_visible(user)
        self.fields["campaign"].queryset = campaigns.order_by("name")
        self.fields["event"].queryset = (
            Event.objects.filter(campaign__in=campaigns)
            .select_related("campaign")
            .order_by("-starts_at")
        )
        self.fields["event"].label_from_instance = lambda e: f"{e.title} ({e.campaign.name})"

    def full_clean(self):
        super().full_clean()
        # Tie each error message to its control for screen readers (the template renders the
        # message with id "<auto_id>_error").
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"id_{name}_error"
                self.fields[name].widget.attrs["aria-invalid"] = "true"
